//! Hyperconverged storage (seed 004): every commit writes `files_per_trx` files (InnoDB log, GCache, binlog) on
//! each Galera node's local storage controller, and each write is copied synchronously to `storage_replicas`
//! other hypervisors over the same NIC the VMs use. A write completes when its slowest leg does: the local
//! disk, or for each copy the sender's NIC egress, half a round trip, the receiver's NIC ingress and disk, and
//! the ack's half round trip.
//!
//! NICs and disks are FIFO servers with a fixed service time per write (write size ÷ link rate; 1 ÷ disk_iops),
//! so writes queue and latency grows with load: past ρ = 1 the backlog grows as (ρ − 1)·t (SEED-MODELS §004).
//! A batch of m writes is served back to back, so its writes' latencies spread evenly from the first's to the
//! last's. Times here are integer nanoseconds: a 16 KiB write takes 13 107 ns on 10 Gbit/s.

/// One FIFO server with a fixed service time.
#[derive(Clone, Debug, Default)]
pub struct Fifo {
    /// Service time of one write, ns.
    pub service_ns: u64,
    /// When the last queued write finishes, ns.
    busy_until_ns: u64,
    /// Work offered in the current metrics step, ns (ρ = work ÷ step).
    pub work_ns: u64,
}

impl Fifo {
    /// A server taking `service_ns` per write.
    pub fn new(service_ns: u64) -> Fifo {
        Fifo { service_ns: service_ns.max(1), busy_until_ns: 0, work_ns: 0 }
    }

    /// Queues `m` writes arriving at `at_ns`; returns when the first and the last finish.
    pub fn push(&mut self, at_ns: u64, m: u64) -> (u64, u64) {
        let start = self.busy_until_ns.max(at_ns);
        self.busy_until_ns = start + m * self.service_ns;
        self.work_ns += m * self.service_ns;
        (start + self.service_ns, self.busy_until_ns)
    }

    /// Work waiting at `at_ns`, ns.
    pub fn backlog_ns(&self, at_ns: u64) -> u64 {
        self.busy_until_ns.saturating_sub(at_ns)
    }
}

/// One hypervisor: a full-duplex NIC and a storage controller.
#[derive(Clone, Debug)]
pub struct Hypervisor {
    /// NIC transmit side.
    pub egress: Fifo,
    /// NIC receive side.
    pub ingress: Fifo,
    /// Storage controller.
    pub disk: Fifo,
}

/// The storage layer's shape.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Files written per transaction on each node (3: InnoDB log, GCache, binlog).
    pub files_per_trx: u64,
    /// Synchronous copies of every write on other hypervisors (2).
    pub replicas: u64,
    /// Hypervisors (Galera node i runs on hypervisor i).
    pub hypervisors: usize,
    /// Round trip between hypervisors, ns.
    pub rtt_ns: u64,
}

/// The latency range of one batch of writes, ns after they were issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spread {
    /// The first write's latency.
    pub first_ns: u64,
    /// The last write's latency.
    pub last_ns: u64,
    /// How many writes.
    pub writes: u64,
}

/// Every hypervisor and the write counters.
#[derive(Clone, Debug)]
pub struct Storage {
    /// Its shape.
    pub shape: Shape,
    /// The hypervisors.
    pub hyps: Vec<Hypervisor>,
    /// Disk writes issued (local and copies).
    pub disk_writes: u64,
    /// Writes sent over the network (copies).
    pub network_writes: u64,
}

impl Storage {
    /// Storage with NICs of `nic_bits_per_s` and disks of `disk_iops`, for writes of `write_bytes`.
    pub fn new(shape: Shape, nic_bits_per_s: f64, disk_iops: f64, write_bytes: f64) -> Storage {
        let nic_ns = (write_bytes * 8.0 / nic_bits_per_s * 1e9).round() as u64;
        let disk_ns = (1e9 / disk_iops).round() as u64;
        let hyp = Hypervisor { egress: Fifo::new(nic_ns), ingress: Fifo::new(nic_ns), disk: Fifo::new(disk_ns) };
        Storage { shape, hyps: vec![hyp; shape.hypervisors], disk_writes: 0, network_writes: 0 }
    }

    /// The hypervisors holding node `node`'s copies: the next `replicas` after its own.
    pub fn copy_targets(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        let h = self.shape.hypervisors;
        (1..=self.shape.replicas as usize).map(move |k| (node + k) % h)
    }

    /// Node `node` commits `trx` transactions at `at_ns`: its writes, their copies, and their latencies.
    pub fn commit(&mut self, node: usize, at_ns: u64, trx: u64) -> Spread {
        let m = trx * self.shape.files_per_trx;
        let own = node % self.shape.hypervisors;
        let (mut first, mut last) = self.hyps[own].disk.push(at_ns, m);
        let half = self.shape.rtt_ns / 2;
        let targets: Vec<usize> = self.copy_targets(own).collect();
        for target in targets {
            let (e_first, e_last) = self.hyps[own].egress.push(at_ns, m);
            let (i_first, i_last) = self.hyps[target].ingress.push(e_first + half, m);
            let (d_first, d_last) = self.hyps[target].disk.push(i_first, m);
            first = first.max(d_first + half);
            last = last.max((e_last + half).max(i_last).max(d_last) + half);
        }
        self.disk_writes += m * (1 + self.shape.replicas);
        self.network_writes += m * self.shape.replicas;
        Spread { first_ns: first - at_ns, last_ns: last - at_ns, writes: m }
    }

    /// ρ of each hypervisor's busiest NIC side and of its disk over a step of `step_ns`, then starts a new step.
    pub fn take_loads(&mut self, step_ns: u64) -> Vec<(f64, f64)> {
        let step = step_ns.max(1) as f64;
        self.hyps
            .iter_mut()
            .map(|h| {
                let nic = h.egress.work_ns.max(h.ingress.work_ns) as f64 / step;
                let disk = h.disk.work_ns as f64 / step;
                h.egress.work_ns = 0;
                h.ingress.work_ns = 0;
                h.disk.work_ns = 0;
                (nic, disk)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage() -> Storage {
        let shape = Shape { files_per_trx: 3, replicas: 2, hypervisors: 4, rtt_ns: 100_000 };
        Storage::new(shape, 10e9, 200_000.0, 16384.0)
    }

    #[test]
    fn one_trx_on_three_nodes_is_27_writes_18_over_the_network() {
        let mut s = storage();
        for node in 0..3 {
            s.commit(node, 0, 1);
        }
        assert_eq!((s.disk_writes, s.network_writes), (27, 18));
        assert_eq!(s.hyps[0].egress.service_ns, 13_107, "16 KiB × 8 / 10 Gbit/s");
    }

    #[test]
    fn an_idle_write_costs_its_services_and_one_round_trip() {
        let mut s = storage();
        let spread = s.commit(0, 0, 1);
        // One trx is 3 files. The second copy's first write leaves the shared egress after the first copy's 3:
        // 4 × 13 107, then ½ RTT, its ingress 13 107, the remote disk 5 000 and the ack's ½ RTT.
        assert_eq!(spread.first_ns, 4 * 13_107 + 50_000 + 13_107 + 5_000 + 50_000);
    }

    #[test]
    fn above_capacity_the_backlog_grows_as_rho_minus_one_times_t() {
        let mut s = storage();
        let service = s.hyps[0].egress.service_ns;
        // ρ = 1.2 on node 0's egress for one second: 6 copies per trx.
        let per_s = (1.2e9 / (6 * service) as f64) as u64;
        let gap = 1_000_000_000 / per_s;
        for i in 0..per_s {
            s.commit(0, i * gap, 1);
        }
        let backlog = s.hyps[0].egress.backlog_ns(1_000_000_000) as f64 / 1e9;
        assert!((backlog - 0.2).abs() < 0.01, "backlog {backlog} s, expected (1.2 − 1)·1 s");
    }
}
