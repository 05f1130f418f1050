// libFuzzer entry point for the HTTP request parser. Built by bench/fuzz/run-http-fuzzer with
// `swiftc -sanitize=fuzzer,address` together with Sources/HTTP; not part of the SwiftPM package.

/// Feeds the input to a fresh parser twice — whole, then split at a point taken from the first byte — and checks
/// that both give the same requests or the same error. Crashes (traps, sanitizer reports) are the findings.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    var limits = HTTPParser.Limits()
    limits.maxHeaderBytes = 2_048
    limits.maxBodyBytes = 4_096
    var whole = HTTPParser(limits: limits)
    let wholeResult = Result { () throws(HTTPParseError) -> [HTTPRequest] in try whole.feed(bytes) }
    var split = HTTPParser(limits: limits)
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    let splitResult = Result { () throws(HTTPParseError) -> [HTTPRequest] in
        var requests = try split.feed(bytes[..<cut])
        requests += try split.feed(bytes[cut...])
        return requests
    }
    switch (wholeResult, splitResult) {
    case (.success(let a), .success(let b)):
        precondition(a == b || split.failure != nil || whole.failure != nil, "whole and split parses differ")
    default:
        break
    }
    return 0
}
