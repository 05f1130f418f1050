import Synchronization

/// A latency histogram with Prometheus' cumulative buckets (seconds).
struct Histogram: Sendable {
    /// Upper bounds in seconds.
    static let bounds: [Double] = [
        0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10,
    ]
    var counts = [UInt64](repeating: 0, count: bounds.count + 1)
    var sum = 0.0
    var total: UInt64 = 0

    /// Records one observation of `seconds`.
    mutating func observe(_ seconds: Double) {
        var slot = Self.bounds.count
        for (position, bound) in Self.bounds.enumerated() where seconds <= bound {
            slot = position
            break
        }
        counts[slot] += 1
        sum += seconds
        total += 1
    }

    /// Prometheus text lines for the histogram `name`.
    func render(_ name: String, help: String) -> String {
        var text = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative: UInt64 = 0
        for (position, bound) in Self.bounds.enumerated() {
            cumulative += counts[position]
            text += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        text += "\(name)_bucket{le=\"+Inf\"} \(total)\n\(name)_sum \(sum)\n\(name)_count \(total)\n"
        return text
    }
}

/// HTTP request counts by route and status, updated from the HTTP thread and the loop.
final class RequestCounter: Sendable {
    let counts = Mutex<[String: UInt64]>([:])

    /// Counts one answered request.
    func count(route: String, status: Int) {
        let key = "route=\"\(route)\",status=\"\(status)\""
        counts.withLock { $0[key, default: 0] += 1 }
    }

    /// Prometheus text.
    func render() -> String {
        let snapshot = counts.withLock { $0 }
        var text = "# HELP gantry_http_requests_total HTTP requests answered, by route and status.\n"
        text += "# TYPE gantry_http_requests_total counter\n"
        for key in snapshot.keys.sorted() {
            text += "gantry_http_requests_total{\(key)} \(snapshot[key]!)\n"
        }
        return text
    }
}

/// Loop-owned metrics (touched only on the node loop thread, except `fsync`, which the storage thread reports
/// through the loop).
struct LoopMetrics {
    var leaderChanges: UInt64 = 0
    var proposals: UInt64 = 0
    var proposalsFailed: UInt64 = 0
    var proposalLatency = Histogram()
    var fsyncLatency = Histogram()
    var readIndexLatency = Histogram()
    var snapshotsTaken: UInt64 = 0
    var snapshotsInstalled: UInt64 = 0
}

/// A gauge or counter line with HELP and TYPE.
func metricLine(_ name: String, _ type: String, _ help: String, _ value: String, labels: String = "") -> String {
    let labelText = labels.isEmpty ? "" : "{\(labels)}"
    return "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name)\(labelText) \(value)\n"
}
