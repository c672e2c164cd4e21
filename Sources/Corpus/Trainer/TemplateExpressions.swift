import Foundation

enum ExpressionToken: Equatable {
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case punctuation(String)
}

/// Tokens of a Jinja expression.
enum ExpressionLexer {
    private static let twoCharacter: Set<String> = ["==", "!=", "<=", ">=", "//", "**"]
    private static let oneCharacter: Set<Character> = [
        "(", ")", "[", "]", "{", "}", ",", ":", ".", "|", "+", "-", "*", "/", "%", "~", "<", ">", "=",
    ]

    static func tokens(_ source: String) throws -> [ExpressionToken] {
        let c = Array(source)
        var tokens: [ExpressionToken] = []
        var i = 0
        while i < c.count {
            let ch = c[i]
            if ch.isWhitespace {
                i += 1
            } else if ch == "'" || ch == "\"" {
                var value = "", j = i + 1
                while j < c.count && c[j] != ch {
                    if c[j] == "\\" && j + 1 < c.count {
                        j += 1
                        switch c[j] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default: value.append(c[j])
                        }
                    } else {
                        value.append(c[j])
                    }
                    j += 1
                }
                guard j < c.count else { throw ChatTemplateError("chat template: unterminated string in `\(source)`") }
                tokens.append(.string(value))
                i = j + 1
            } else if ch.isNumber {
                var j = i
                while j < c.count && (c[j].isNumber || c[j] == "_") { j += 1 }
                if j + 1 < c.count && c[j] == "." && c[j + 1].isNumber {
                    j += 1
                    while j < c.count && c[j].isNumber { j += 1 }
                    tokens.append(.float(Double(String(c[i..<j]))!))
                } else {
                    tokens.append(.integer(Int(String(c[i..<j]).replacingOccurrences(of: "_", with: ""))!))
                }
                i = j
            } else if ch.isLetter || ch == "_" {
                var j = i
                while j < c.count && (c[j].isLetter || c[j].isNumber || c[j] == "_") { j += 1 }
                tokens.append(.name(String(c[i..<j])))
                i = j
            } else if i + 1 < c.count, twoCharacter.contains(String(c[i...i + 1])) {
                tokens.append(.punctuation(String(c[i...i + 1])))
                i += 2
            } else if oneCharacter.contains(ch) {
                tokens.append(.punctuation(String(ch)))
                i += 1
            } else {
                throw ChatTemplateError("chat template: unexpected `\(ch)` in `\(source)`")
            }
        }
        return tokens
    }
}

/// Jinja's expression grammar, precedence lowest first: `x if c else y`, `or`, `and`, `not`, comparisons and
/// `in`, `~`, `+ -`, `* / // %`, unary `-`, then postfix (`.name`, `[…]`, `(…)`), filters `|` and tests `is`.
struct ExpressionParser {
    var tokens: [ExpressionToken]
    var position = 0

    init(tokens: [ExpressionToken]) { self.tokens = tokens }

    static func parse(_ source: String) throws -> TemplateExpression { try parse(try ExpressionLexer.tokens(source), source: source) }

    static func parse(_ tokens: [ExpressionToken], source: String = "") throws -> TemplateExpression {
        var parser = ExpressionParser(tokens: tokens)
        let expression = try parser.parseExpression()
        try parser.expectEnd(source)
        return expression
    }

    private var current: ExpressionToken? { position < tokens.count ? tokens[position] : nil }

    mutating func accept(_ token: ExpressionToken) -> Bool {
        guard current == token else { return false }
        position += 1
        return true
    }

    mutating func expect(_ token: ExpressionToken) throws {
        guard accept(token) else { throw ChatTemplateError("chat template: expected \(token), found \(String(describing: current))") }
    }

    mutating func expectName() throws -> String {
        guard case let .name(name)? = current else {
            throw ChatTemplateError("chat template: expected a name, found \(String(describing: current))")
        }
        position += 1
        return name
    }

    func expectEnd(_ source: String) throws {
        guard position == tokens.count else { throw ChatTemplateError("chat template: unexpected \(tokens[position]) in `\(source)`") }
    }

    mutating func parseExpression() throws -> TemplateExpression {
        let value = try parseOr()
        if accept(.name("if")) {
            let condition = try parseOr()
            let otherwise = accept(.name("else")) ? try parseExpression() : nil
            return .conditional(value, condition: condition, otherwise: otherwise)
        }
        return value
    }

    /// An expression without a trailing `if` (the sequence of a `for`, whose `if` filters the loop).
    mutating func parseConditionalFree() throws -> TemplateExpression { try parseOr() }

    private mutating func parseOr() throws -> TemplateExpression {
        var left = try parseAnd()
        while accept(.name("or")) { left = .binary("or", left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws -> TemplateExpression {
        var left = try parseNot()
        while accept(.name("and")) { left = .binary("and", left, try parseNot()) }
        return left
    }

    private mutating func parseNot() throws -> TemplateExpression {
        if accept(.name("not")) { return .unary("not", try parseNot()) }
        return try parseComparison()
    }

    private mutating func parseComparison() throws -> TemplateExpression {
        var left = try parseConcat()
        while true {
            if case let .punctuation(op)? = current, ["==", "!=", "<", "<=", ">", ">="].contains(op) {
                position += 1
                left = .binary(op, left, try parseConcat())
            } else if accept(.name("in")) {
                left = .binary("in", left, try parseConcat())
            } else if current == .name("not"), position + 1 < tokens.count, tokens[position + 1] == .name("in") {
                position += 2
                left = .unary("not", .binary("in", left, try parseConcat()))
            } else {
                return left
            }
        }
    }

    private mutating func parseConcat() throws -> TemplateExpression {
        var left = try parseAdditive()
        while accept(.punctuation("~")) { left = .binary("~", left, try parseAdditive()) }
        return left
    }

    private mutating func parseAdditive() throws -> TemplateExpression {
        var left = try parseMultiplicative()
        while case let .punctuation(op)? = current, op == "+" || op == "-" {
            position += 1
            left = .binary(op, left, try parseMultiplicative())
        }
        return left
    }

    private mutating func parseMultiplicative() throws -> TemplateExpression {
        var left = try parseUnary()
        while case let .punctuation(op)? = current, ["*", "/", "//", "%"].contains(op) {
            position += 1
            left = .binary(op, left, try parseUnary())
        }
        return left
    }

    private mutating func parseUnary() throws -> TemplateExpression {
        if accept(.punctuation("-")) { return try parseFilters(.unary("-", try parseUnary())) }
        return try parseFilters(try parsePostfix(try parsePrimary()))
    }

    private mutating func parsePrimary() throws -> TemplateExpression {
        guard let token = current else { throw ChatTemplateError("chat template: expression ends early") }
        position += 1
        switch token {
        case let .string(s):
            var value = s
            while case let .string(next)? = current {  // adjacent literals concatenate
                value += next
                position += 1
            }
            return .literal(.string(value))
        case let .integer(n): return .literal(.integer(n))
        case let .float(x): return .literal(.float(x))
        case let .name(name):
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(name)
            }
        case .punctuation("("):
            let inner = try parseExpression()
            if accept(.punctuation(",")) {  // a tuple, used as a list
                var items = [inner]
                while !accept(.punctuation(")")) {
                    items.append(try parseExpression())
                    _ = accept(.punctuation(","))
                }
                return .list(items)
            }
            try expect(.punctuation(")"))
            return inner
        case .punctuation("["):
            var items: [TemplateExpression] = []
            while !accept(.punctuation("]")) {
                items.append(try parseExpression())
                if !accept(.punctuation(",")) { try expect(.punctuation("]")); break }
            }
            return .list(items)
        case .punctuation("{"):
            var pairs: [(TemplateExpression, TemplateExpression)] = []
            while !accept(.punctuation("}")) {
                let key = try parseExpression()
                try expect(.punctuation(":"))
                pairs.append((key, try parseExpression()))
                if !accept(.punctuation(",")) { try expect(.punctuation("}")); break }
            }
            return .dict(pairs)
        default:
            throw ChatTemplateError("chat template: unexpected \(token)")
        }
    }

    private mutating func parsePostfix(_ base: TemplateExpression) throws -> TemplateExpression {
        var value = base
        while true {
            if accept(.punctuation(".")) {
                value = .attribute(value, try expectName())
            } else if accept(.punctuation("[")) {
                if accept(.punctuation(":")) {
                    let upper = current == .punctuation("]") ? nil : try parseExpression()
                    try expect(.punctuation("]"))
                    value = .slice(value, nil, upper)
                    continue
                }
                let index = try parseExpression()
                if accept(.punctuation(":")) {
                    let upper = current == .punctuation("]") ? nil : try parseExpression()
                    try expect(.punctuation("]"))
                    value = .slice(value, index, upper)
                } else {
                    try expect(.punctuation("]"))
                    value = .index(value, index)
                }
            } else if current == .punctuation("(") {
                let (positional, keywords) = try parseArguments()
                value = .call(value, positional, keywords)
            } else {
                return value
            }
        }
    }

    private mutating func parseArguments() throws -> ([TemplateExpression], [(String, TemplateExpression)]) {
        try expect(.punctuation("("))
        var positional: [TemplateExpression] = [], keywords: [(String, TemplateExpression)] = []
        while !accept(.punctuation(")")) {
            if case let .name(name)? = current, position + 1 < tokens.count, tokens[position + 1] == .punctuation("=") {
                position += 2
                keywords.append((name, try parseExpression()))
            } else {
                positional.append(try parseExpression())
            }
            if !accept(.punctuation(",")) { try expect(.punctuation(")")); break }
        }
        return (positional, keywords)
    }

    private mutating func parseFilters(_ base: TemplateExpression) throws -> TemplateExpression {
        var value = base
        while true {
            if accept(.punctuation("|")) {
                let name = try expectName()
                var (positional, keywords): ([TemplateExpression], [(String, TemplateExpression)]) = ([], [])
                if current == .punctuation("(") { (positional, keywords) = try parseArguments() }
                value = try parsePostfix(.filter(value, name, positional, keywords))
            } else if accept(.name("is")) {
                let negated = accept(.name("not"))
                let name = try expectName()
                var arguments: [TemplateExpression] = []
                if current == .punctuation("(") {
                    arguments = try parseArguments().0
                } else if let token = current, Self.startsTestArgument(token) {
                    arguments = [try parsePostfix(try parsePrimary())]
                }
                value = .test(value, name, arguments, negated: negated)
            } else {
                return value
            }
        }
    }

    /// `x is equalto 3`, `x is sameas none`: a test's single argument without parentheses.
    private static func startsTestArgument(_ token: ExpressionToken) -> Bool {
        switch token {
        case .string, .integer, .float: return true
        case let .name(name): return !["and", "or", "if", "else", "in", "not", "is"].contains(name)
        default: return false
        }
    }
}
