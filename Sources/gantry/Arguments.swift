/// A command line parsed against a list of known flags: `--name value`, `--name=value`, boolean `--name`, and
/// positional arguments. Unknown flags are errors naming the flag.
struct Arguments {
    /// Flag values by name (without dashes); booleans hold "true".
    var flags: [String: String] = [:]
    /// Positional arguments in order.
    var positional: [String] = []

    /// Parses `words`. `valued` flags take a value; `booleans` do not.
    init(_ words: [String], valued: Set<String>, booleans: Set<String>) throws(CommandError) {
        var position = 0
        while position < words.count {
            let word = words[position]
            position += 1
            guard word.hasPrefix("--"), word.count > 2 else {
                positional.append(word)
                continue
            }
            var name = String(word.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if booleans.contains(name) {
                guard value == nil || value == "true" || value == "false" else {
                    throw CommandError("--\(name) takes no value (or =true/=false)")
                }
                flags[name] = value ?? "true"
            } else if valued.contains(name) {
                if value == nil {
                    guard position < words.count else { throw CommandError("--\(name) needs a value") }
                    value = words[position]
                    position += 1
                }
                flags[name] = value
            } else {
                throw CommandError("unknown option --\(name)")
            }
        }
    }

    /// The flag's value, if given.
    subscript(_ name: String) -> String? { flags[name] }

    /// Whether a boolean flag is set.
    func isSet(_ name: String) -> Bool { flags[name] == "true" }

    /// The flag as a positive integer, or an error naming it.
    func integer(_ name: String) throws(CommandError) -> Int? {
        guard let raw = flags[name] else { return nil }
        guard let value = Int(raw), value >= 0 else {
            throw CommandError("--\(name) must be a whole number, got '\(raw)'")
        }
        return value
    }
}

/// A command-line error: printed as one line on stderr, exit status 2 (usage) or 1 (failure).
struct CommandError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = 2) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}
