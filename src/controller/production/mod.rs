//! Balancing controllers taken from production load balancers (REFERENCE §3): the seed's power of two choices,
//! least connections, Envoy's least_request with slow start, outlier detection and the panic threshold, and
//! Finagle/Linkerd's P2C over peak-EWMA latency.
//!
//! Each runs on one app host and decides only on what that host's balancer could know: its own in-flight
//! connections per server (`Candidate::in_flight`), the results of its own connects and the lifetimes of its own
//! connections. None of them shares state between hosts, as none of the source systems does (each Envoy sidecar,
//! each Finagle client, each HAProxy instance decides alone).
//!
//! How a "request" of the source systems maps onto loadlab: one connection is one request. A pick is the
//! request's start; a failed connect (refused or timed out) is an error (an HTTP 5xx or gateway failure for
//! Envoy's outlier detection, a `Throw` for Finagle's metric); a close ends an established request, and its
//! `held` time (from the connect attempt to the close) is the round-trip time a client-side balancer measures.
//!
//! What every controller's `weights` returns: numbers proportional to the probability that this host picks each
//! candidate now, scaled so that they sum to the candidates' configured loads (so an idle host reads like
//! `static`). The one exception is Envoy's weighted path, which returns Envoy's effective weights themselves
//! (also proportional to the pick probability); see `envoy.rs`.

mod envoy;
mod least_conn;
mod p2c;
mod peak_ewma;

use crate::controller::ControllerInfo;
use crate::rng;

/// `p2c`: the power of two choices proposed on the seed task (pick `choices` by weight, keep the least busy).
pub const P2C: ControllerInfo = p2c::INFO;
/// `least-conn`: HAProxy's weighted leastconn on this host's view (key (in-flight + 1)·max/load, ties FIFO).
pub const LEAST_CONN: ControllerInfo = least_conn::INFO;
/// `envoy-least-request`: Envoy's least_request load balancer with slow start, outlier detection and panic mode.
pub const ENVOY_LEAST_REQUEST: ControllerInfo = envoy::INFO;
/// `peak-ewma`: Finagle's P2C over peak-EWMA latency × (outstanding + 1), with Linkerd's default RTT.
pub const PEAK_EWMA: ControllerInfo = peak_ewma::INFO;

/// `x^y` for x ≥ 0 with the portable `ln`/`exp` (decision logic must round the same natively and in wasm32).
/// Exact for y = 1 and y = 0, the defaults that matter; 0^y is 0 for y > 0.
fn pow(x: f64, y: f64) -> f64 {
    if y == 1.0 {
        x
    } else if y == 0.0 {
        1.0
    } else if x <= 0.0 {
        0.0
    } else {
        rng::exp(y * rng::ln(x))
    }
}

/// Reads a whole-number parameter; values are validated against their range by `ControllerSpec::set`, and a
/// fractional value is truncated (documented on each such parameter as "whole number").
fn whole(value: f64) -> usize {
    if value.is_finite() && value > 0.0 {
        value as usize
    } else {
        0
    }
}

/// Exact probability that each item wins when `choices` distinct items are drawn one after another with
/// probability proportional to `weights` (successive sampling without replacement, as `pick_weighted` with the
/// drawn ones removed), and the winner is the drawn item with the least `load`, ties going to the earliest draw.
///
/// Enumerates the ordered draws: n!/(n−k)! leaves, at most 64·63·62·61 ≈ 15.2 M for the largest section and the
/// largest `choices` (4); 110 for the EventSimulator section with 2 choices. Items with weight ≤ 0 are never drawn.
/// If fewer than `choices` items have a positive weight, all of them are drawn.
fn successive_sampling_win_probabilities(weights: &[f64], loads: &[f64], choices: usize) -> Vec<f64> {
    let n = weights.len().min(loads.len()).min(64);
    let mut out = vec![0.0; weights.len()];
    let total: f64 = weights[..n].iter().map(|w| w.max(0.0)).sum();
    if !(total > 0.0 && total.is_finite()) || choices == 0 {
        return out;
    }
    struct Walk<'a> {
        weights: &'a [f64],
        loads: &'a [f64],
        choices: usize,
        total: f64,
    }
    fn visit(w: &Walk<'_>, depth: usize, drawn: u64, drawn_weight: f64, winner: usize, prob: f64, out: &mut [f64]) {
        let remaining = w.total - drawn_weight;
        if depth == w.choices || remaining <= w.total * 1e-12 {
            out[winner] += prob;
            return;
        }
        let mut any = false;
        for (j, &wj) in w.weights.iter().enumerate() {
            if wj <= 0.0 || drawn & (1u64 << j) != 0 {
                continue;
            }
            any = true;
            let next = if w.loads[j] < w.loads[winner] { j } else { winner };
            visit(w, depth + 1, drawn | (1u64 << j), drawn_weight + wj, next, prob * wj / remaining, out);
        }
        if !any {
            out[winner] += prob;
        }
    }
    let walk = Walk { weights: &weights[..n], loads: &loads[..n], choices, total };
    for (i, &wi) in weights[..n].iter().enumerate() {
        if wi > 0.0 {
            visit(&walk, 1, 1u64 << i, wi, i, wi / total, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow_is_exact_where_it_matters_and_close_elsewhere() {
        assert_eq!(pow(7.0, 1.0), 7.0);
        assert_eq!(pow(7.0, 0.0), 1.0);
        assert_eq!(pow(0.0, 2.0), 0.0);
        assert!((pow(0.25, 0.5) - 0.5).abs() < 1e-15);
        assert!((pow(3.0, 2.0) - 9.0).abs() < 1e-13);
    }

    #[test]
    fn successive_sampling_two_of_three_by_hand() {
        // Weights 1:1:2 (p = ¼, ¼, ½), loads 0, 1, 2: item 0 wins whenever drawn; item 1 wins only with item 2;
        // item 2 never wins against a lighter one. P(0 drawn in two) = ¼ + ¼·¼/(¾) + ½·¼/(½) = ¼ + 1/12 + ¼ = 7/12.
        // P(1 wins) = P(draws {1,2}) = ¼·½/(¾) + ½·¼/(½) = 1/6 + ¼ = 5/12. P(2 wins) = 0.
        let p = successive_sampling_win_probabilities(&[1.0, 1.0, 2.0], &[0.0, 1.0, 2.0], 2);
        assert!((p[0] - 7.0 / 12.0).abs() < 1e-15, "{p:?}");
        assert!((p[1] - 5.0 / 12.0).abs() < 1e-15, "{p:?}");
        assert_eq!(p[2], 0.0);
    }

    #[test]
    fn successive_sampling_with_all_loads_equal_is_the_first_draw() {
        // Ties go to the earliest draw, so with equal loads the winner is the first draw: the weights themselves.
        let w = [50.0, 200.0, 325.0, 200.0];
        let p = successive_sampling_win_probabilities(&w, &[3.0; 4], 3);
        for (pi, wi) in p.iter().zip(w) {
            assert!((pi - wi / 775.0).abs() < 1e-15, "{p:?}");
        }
    }
}
