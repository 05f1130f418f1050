extension SigV4 {
    /// A parsed `Authorization: AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/<service>/aws4_request,
    /// SignedHeaders=<name>;<name>…, Signature=<64 hex digits>` header.
    package struct Authorization: Sendable, Equatable {
        /// The access key id of the credential.
        package var accessKeyID: String
        /// The scope's date, `YYYYMMDD`.
        package var date: String
        /// The scope's region.
        package var region: String
        /// The scope's service.
        package var service: String
        /// The signed header names in the order given (a correct signer sends them lowercase and sorted).
        /// Invariant: non-empty, and no name is empty.
        package var signedHeaders: [String]
        /// The signature's 32 bytes.
        package var signature: [UInt8]

        /// The credential scope, `<date>/<region>/<service>/aws4_request`.
        package var scope: String { "\(date)/\(region)/\(service)/aws4_request" }

        /// Parses a header value. Only the algorithm word and the three named parameters are ever quoted back in
        /// an error, so a bearer token sent here by mistake is not echoed.
        package static func parse(_ value: String) throws(SigV4Error) -> Authorization {
            let trimmed = value.drop { $0 == " " }
            let algorithmEnd = trimmed.firstIndex(of: " ") ?? trimmed.endIndex
            let scheme = trimmed[..<algorithmEnd]
            guard scheme == SigV4.algorithm else {
                let shown = scheme.count <= 32 ? "'\(scheme)'" : "of \(scheme.count) characters"
                throw .malformedAuthorization(
                    reason: "the Authorization header's algorithm \(shown) is not supported; "
                        + "sign with AWS Signature Version 4 (\(SigV4.algorithm))"
                )
            }
            var parameters: [String: String] = [:]
            for part in trimmed[algorithmEnd...].split(separator: ",") {
                let pair = part.trimmingSpaces
                if pair.isEmpty { continue }
                guard let equals = pair.firstIndex(of: "=") else {
                    throw .malformedAuthorization(
                        reason: "'\(pair.prefix(64))' is not a valid key=value pair (missing equal-sign) in the "
                            + "Authorization header"
                    )
                }
                let name = String(pair[..<equals])
                guard parameters[name] == nil else {
                    throw .malformedAuthorization(reason: "the Authorization header repeats '\(name)'")
                }
                parameters[name] = String(pair[pair.index(after: equals)...])
            }
            let missing = ["Credential", "SignedHeaders", "Signature"].filter { parameters[$0] == nil }
            guard missing.isEmpty,
                let credential = parameters["Credential"],
                let signedHeaders = parameters["SignedHeaders"],
                let signature = parameters["Signature"]
            else {
                throw .malformedAuthorization(
                    reason: missing.map { "Authorization header requires '\($0)' parameter." }.joined(separator: " ")
                )
            }

            let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard scope.count == 5, scope[4] == "aws4_request", !scope[0].isEmpty, !scope[2].isEmpty,
                !scope[3].isEmpty, scope[1].utf8.count == 8, scope[1].utf8.allSatisfy(isDigit)
            else {
                throw .malformedAuthorization(
                    reason: "Credential must have the form <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request; "
                        + "got '\(credential.prefix(200))'"
                )
            }
            let names = signedHeaders.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            guard !names.contains(where: \.isEmpty) else {
                throw .malformedAuthorization(
                    reason: "SignedHeaders must be header names separated by ';'; got '\(signedHeaders.prefix(200))'"
                )
            }
            guard signature.utf8.count == 2 * LibCrypto.digestLength, let bytes = LibCrypto.bytes(hex: signature)
            else {
                throw .malformedAuthorization(
                    reason: "Signature must be \(2 * LibCrypto.digestLength) hexadecimal digits; "
                        + "got \(signature.utf8.count) characters"
                )
            }
            return Authorization(
                accessKeyID: scope[0],
                date: scope[1],
                region: scope[2],
                service: scope[3],
                signedHeaders: names,
                signature: bytes
            )
        }
    }

    /// Whether `byte` is an ASCII digit.
    static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
}

extension Substring {
    /// The substring without leading or trailing spaces and tabs.
    fileprivate var trimmingSpaces: Substring {
        var slice = self
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return slice
    }
}
