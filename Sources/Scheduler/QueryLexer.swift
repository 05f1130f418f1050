/// One token of a query, with the character offset where it starts.
struct QueryToken: Equatable {
    /// The kinds of token.
    enum Kind: Equatable {
        /// A run of word characters (subjects, word operators, keywords, bare values).
        case word(String)
        /// A quoted string, unescaped.
        case string(String)
        /// `==`, `!=`, `>`, `>=`, `<`, `<=`, `=~`, `!~`, and `!exists` / `!in` written without a space.
        case symbol(String)
        /// `&&`.
        case and
        /// `||`.
        case or
        /// `!` not followed by `=`, `~`, `exists` or `in`.
        case bang
        /// `(`.
        case openParenthesis
        /// `)`.
        case closeParenthesis
        /// `[`.
        case openBracket
        /// `]`.
        case closeBracket
        /// `,`.
        case comma
        /// The end of the text.
        case end
    }

    /// What it is.
    var kind: Kind
    /// Where it starts.
    var offset: Int
    /// The text as written, for error messages.
    var text: String
}

/// Splits query text into tokens; the whole text is lexed up front (it is at most 2000 characters).
enum QueryLexer {
    /// Characters of a word token: ASCII letters and digits and `. - _ : * ? / @ \`.
    static func isWordCharacter(_ character: Unicode.Scalar) -> Bool {
        isBareValueCharacter(character) || character == "\\"
    }

    /// Characters a value may use unquoted (and `Query.description` prints unquoted).
    static func isBareValueCharacter(_ character: Unicode.Scalar) -> Bool {
        guard character.isASCII else { return false }
        let ascii = UInt8(character.value)
        switch ascii {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return ".-_:*?/@".utf8.contains(ascii)
        }
    }

    /// The tokens of `characters`, ending with `.end`.
    static func tokens(_ characters: [Unicode.Scalar]) throws(QueryError) -> [QueryToken] {
        var tokens: [QueryToken] = []
        var position = 0
        func peek(_ ahead: Int) -> Unicode.Scalar? {
            position + ahead < characters.count ? characters[position + ahead] : nil
        }
        while position < characters.count {
            let start = position
            let character = characters[position]
            func emit(_ kind: QueryToken.Kind, length: Int) {
                tokens.append(QueryToken(kind: kind, offset: start, text: text(characters[start..<start + length])))
                position = start + length
            }
            if character.properties.isWhitespace {
                position += 1
                continue
            }
            if isWordCharacter(character) {
                var end = position
                while end < characters.count, isWordCharacter(characters[end]) { end += 1 }
                emit(.word(text(characters[start..<end])), length: end - start)
                continue
            }
            switch character {
            case "(": emit(.openParenthesis, length: 1)
            case ")": emit(.closeParenthesis, length: 1)
            case "[": emit(.openBracket, length: 1)
            case "]": emit(.closeBracket, length: 1)
            case ",": emit(.comma, length: 1)
            case "\"", "'":
                let (value, length) = try quotedString(characters, from: start)
                emit(.string(value), length: length)
            case "=":
                switch peek(1) {
                case "=": emit(.symbol("=="), length: 2)
                case "~": emit(.symbol("=~"), length: 2)
                default: throw QueryError(offset: start, message: "unexpected '=' (did you mean '=='?)")
                }
            case "!":
                let next = peek(1)
                if next == "=" || next == "~" {
                    emit(.symbol("!\(next!)"), length: 2)
                } else if let word = wordAt(characters, start + 1), word == "exists" || word == "in" {
                    emit(.symbol("!\(word)"), length: 1 + word.count)
                } else {
                    emit(.bang, length: 1)
                }
            case ">", "<":
                if peek(1) == "=" {
                    emit(.symbol("\(character)="), length: 2)
                } else {
                    emit(.symbol(String(character)), length: 1)
                }
            case "&":
                guard peek(1) == "&" else {
                    throw QueryError(offset: start, message: "unexpected '&' (did you mean '&&' or 'and'?)")
                }
                emit(.and, length: 2)
            case "|":
                guard peek(1) == "|" else {
                    throw QueryError(offset: start, message: "unexpected '|' (did you mean '||' or 'or'?)")
                }
                emit(.or, length: 2)
            default:
                throw QueryError(
                    offset: start,
                    message: "unexpected character '\(character)' (quote values that contain it, e.g. \"a b\")"
                )
            }
        }
        tokens.append(QueryToken(kind: .end, offset: characters.count, text: ""))
        return tokens
    }

    /// The scalars as a string.
    static func text(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var result = ""
        result.unicodeScalars.append(contentsOf: scalars)
        return result
    }

    /// The word starting at `offset`, if one does.
    private static func wordAt(_ characters: [Unicode.Scalar], _ offset: Int) -> String? {
        var end = offset
        while end < characters.count, isWordCharacter(characters[end]) { end += 1 }
        return end > offset ? text(characters[offset..<end]) : nil
    }

    /// The unescaped content and the length (quotes included) of the string opening at `start`.
    /// A backslash makes the next character literal.
    private static func quotedString(
        _ characters: [Unicode.Scalar],
        from start: Int
    ) throws(QueryError) -> (String, Int) {
        let quote = characters[start]
        var value = ""
        var position = start + 1
        while position < characters.count {
            let character = characters[position]
            if character == quote { return (value, position + 1 - start) }
            if character == "\\" {
                position += 1
                guard position < characters.count else { break }
            }
            value.unicodeScalars.append(characters[position])
            position += 1
        }
        throw QueryError(offset: start, message: "unterminated string: add a closing \(quote)")
    }
}
