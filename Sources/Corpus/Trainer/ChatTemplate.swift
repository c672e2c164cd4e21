import Foundation
import Tokenizer

public struct ChatTemplateError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A tokenizer's `chat_template`, parsed by the Jinja subset that Llama 3.x chat templates use, with the
/// environment Transformers renders them in (`trim_blocks`, `lstrip_blocks`, `strftime_now`, `raise_exception`).
/// Enough to rebuild a row exactly as a trainer's `apply_chat_template` call does; a construct outside the
/// subset is refused when the template is parsed, never rendered differently.
public struct ChatTemplate: Sendable {
    let body: [TemplateNode]

    public init(_ source: String) throws {
        var parser = TemplateParser(chunks: try TemplateLexer.chunks(source))
        body = try parser.parseBody(until: [])
    }

    /// What `tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt: …)` returns, with
    /// `strftime_now` reading `date` (UTC). `specialTokens` are the tokenizer's `bos_token`, `eos_token`, … by name.
    public func render(
        messages: [(role: String, content: String)], addGenerationPrompt: Bool = false, specialTokens: [String: String] = [:],
        date: Date = Date()
    ) throws -> String {
        var context: [String: TemplateValue] = [
            "messages": .list(messages.map { .dict(["role": .string($0.role), "content": .string($0.content)]) }),
            "tools": .none, "documents": .none, "add_generation_prompt": .bool(addGenerationPrompt),
        ]
        for (name, token) in specialTokens { context[name] = .string(token) }
        return try render(context, date: date)
    }

    /// Renders with `variables` decoded from JSON (objects' keys in sorted order), e.g. messages with tool calls.
    public func render(variables: [String: Any], date: Date = Date()) throws -> String {
        try render(variables.mapValues(Self.value(json:)), date: date)
    }

    func render(_ variables: [String: TemplateValue], date: Date) throws -> String {
        var renderer = TemplateRenderer(globals: variables, date: date)
        try renderer.render(body)
        return renderer.output
    }

    static func value(json: Any) -> TemplateValue {
        switch json {
        case let n as NSNumber where String(cString: n.objCType) == "c": return .bool(n.boolValue)
        case let n as NSNumber where ["d", "f"].contains(String(cString: n.objCType)): return .float(n.doubleValue)
        case let n as NSNumber: return .integer(n.intValue)
        case let s as String: return .string(s)
        case let a as [Any]: return .list(a.map(value(json:)))
        case let d as [String: Any]: return .dict(TemplateDictionary(d.keys.sorted().map { ($0, value(json: d[$0]!)) }))
        default: return .none
        }
    }
}

// MARK: - Lexing: text and tags, with Transformers' whitespace rules

enum TemplateChunk {
    case text(String)
    case output(String)
    case statement(String)
}

enum TemplateLexer {
    /// Splits the source into text, `{{ }}` and `{% %}` (comments dropped), applying `-` whitespace control,
    /// `trim_blocks` (the newline after a block or comment tag goes) and `lstrip_blocks` (spaces and tabs before
    /// one on its line go), as Transformers' environment sets them.
    static func chunks(_ source: String) throws -> [TemplateChunk] {
        let s = Array(source.unicodeScalars)
        var chunks: [TemplateChunk] = []
        var text: [Unicode.Scalar] = []
        var i = 0
        var stripNextLeading = false, trimNextNewline = false
        func flushText(stripTrailing: Bool, lstripLine: Bool) {
            var t = text
            if stripNextLeading {
                while let first = t.first, first.properties.isWhitespace { t.removeFirst() }
            } else if trimNextNewline {
                if t.first == "\n" {
                    t.removeFirst()
                } else if t.count >= 2 && t[0] == "\r" && t[1] == "\n" {
                    t.removeFirst(2)
                }
            }
            if stripTrailing {
                while let last = t.last, last.properties.isWhitespace { t.removeLast() }
            } else if lstripLine {
                var j = t.count
                while j > 0 && (t[j - 1] == " " || t[j - 1] == "\t") { j -= 1 }
                if j == 0 || t[j - 1] == "\n" { t.removeSubrange(j...) }
            }
            if !t.isEmpty { chunks.append(.text(String(String.UnicodeScalarView(t)))) }
            text.removeAll()
            stripNextLeading = false
            trimNextNewline = false
        }
        while i < s.count {
            guard s[i] == "{", i + 1 < s.count, ["{", "%", "#"].contains(s[i + 1]) else {
                text.append(s[i])
                i += 1
                continue
            }
            let kind = s[i + 1]
            let close: Unicode.Scalar = kind == "{" ? "}" : (kind == "%" ? "%" : "#")
            var j = i + 2
            let leftStrip = j < s.count && s[j] == "-"
            let leftKeep = j < s.count && s[j] == "+"
            if leftStrip || leftKeep { j += 1 }
            // Find the closing delimiter, skipping string literals inside expressions.
            var end = -1, k = j
            var quote: Unicode.Scalar?
            while k + 1 < s.count {
                if kind != "#", let q = quote {
                    if s[k] == "\\" { k += 2; continue }
                    if s[k] == q { quote = nil }
                } else if kind != "#" && (s[k] == "'" || s[k] == "\"") {
                    quote = s[k]
                } else if s[k] == close && s[k + 1] == "}" {
                    end = k
                    break
                }
                k += 1
            }
            guard end >= 0 else { throw ChatTemplateError("chat template: unclosed {\(kind) tag") }
            var innerEnd = end
            let rightStrip = innerEnd > j && s[innerEnd - 1] == "-"
            if rightStrip || (innerEnd > j && s[innerEnd - 1] == "+") { innerEnd -= 1 }
            let isBlock = kind != "{"
            flushText(stripTrailing: leftStrip, lstripLine: isBlock && !leftKeep)
            let inner = String(String.UnicodeScalarView(s[j..<innerEnd])).trimmingCharacters(in: .whitespacesAndNewlines)
            switch kind {
            case "{": chunks.append(.output(inner))
            case "%": chunks.append(.statement(inner))
            default: break
            }
            stripNextLeading = rightStrip
            trimNextNewline = isBlock && !rightStrip
            i = end + 2
        }
        flushText(stripTrailing: false, lstripLine: false)
        return chunks
    }
}

// MARK: - Parsing: the template's tree

indirect enum TemplateExpression: Sendable {
    case literal(TemplateValue)
    case name(String)
    case list([TemplateExpression])
    case dict([(TemplateExpression, TemplateExpression)])
    case attribute(TemplateExpression, String)
    case index(TemplateExpression, TemplateExpression)
    case slice(TemplateExpression, TemplateExpression?, TemplateExpression?)
    case call(TemplateExpression, [TemplateExpression], [(String, TemplateExpression)])
    case filter(TemplateExpression, String, [TemplateExpression], [(String, TemplateExpression)])
    case test(TemplateExpression, String, [TemplateExpression], negated: Bool)
    case unary(String, TemplateExpression)
    case binary(String, TemplateExpression, TemplateExpression)
    case conditional(TemplateExpression, condition: TemplateExpression, otherwise: TemplateExpression?)
}

indirect enum TemplateNode: Sendable {
    case text(String)
    case output(TemplateExpression)
    case conditional([(TemplateExpression, [TemplateNode])], otherwise: [TemplateNode])
    case loop(targets: [String], over: TemplateExpression, filter: TemplateExpression?, body: [TemplateNode], otherwise: [TemplateNode])
    case assignment(target: String, attribute: String?, TemplateExpression)
    case loopControl(breaks: Bool)
}

struct TemplateParser {
    let chunks: [TemplateChunk]
    var index = 0
    init(chunks: [TemplateChunk]) { self.chunks = chunks }

    /// Nodes up to a statement whose first word is in `terminators` (left unconsumed), or the end.
    mutating func parseBody(until terminators: Set<String>) throws -> [TemplateNode] {
        var nodes: [TemplateNode] = []
        while index < chunks.count {
            switch chunks[index] {
            case let .text(t):
                nodes.append(.text(t))
                index += 1
            case let .output(source):
                nodes.append(.output(try ExpressionParser.parse(source)))
                index += 1
            case let .statement(source):
                var tokens = try ExpressionLexer.tokens(source)
                guard case let .name(keyword)? = tokens.first else { throw ChatTemplateError("chat template: empty {% %} tag") }
                if terminators.contains(keyword) { return nodes }
                index += 1
                tokens.removeFirst()
                nodes.append(try parseStatement(keyword, tokens, source: source))
            }
        }
        if !terminators.isEmpty {
            throw ChatTemplateError("chat template: missing {% \(terminators.sorted().joined(separator: " or ")) %}")
        }
        return nodes
    }

    private func currentKeyword() -> String? {
        if index < chunks.count, case let .statement(source) = chunks[index] {
            return source.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).first.map(String.init)
        }
        return nil
    }

    private mutating func parseStatement(_ keyword: String, _ tokens: [ExpressionToken], source: String) throws -> TemplateNode {
        switch keyword {
        case "if":
            var branches = [(try ExpressionParser.parse(tokens), try parseBody(until: ["elif", "else", "endif"]))]
            var otherwise: [TemplateNode] = []
            while let next = currentKeyword() {
                guard case let .statement(source) = chunks[index] else { break }
                index += 1
                if next == "elif" {
                    let condition = try ExpressionParser.parse(Array(try ExpressionLexer.tokens(source).dropFirst()))
                    branches.append((condition, try parseBody(until: ["elif", "else", "endif"])))
                } else if next == "else" {
                    otherwise = try parseBody(until: ["endif"])
                } else {
                    return .conditional(branches, otherwise: otherwise)
                }
            }
            throw ChatTemplateError("chat template: missing {% endif %}")
        case "for":
            var parser = ExpressionParser(tokens: tokens)
            var targets = [try parser.expectName()]
            while parser.accept(.punctuation(",")) { targets.append(try parser.expectName()) }
            guard parser.accept(.name("in")) else { throw ChatTemplateError("chat template: `for` without `in`: \(source)") }
            let sequence = try parser.parseConditionalFree()
            let filter = parser.accept(.name("if")) ? try parser.parseExpression() : nil
            try parser.expectEnd(source)
            let body = try parseBody(until: ["else", "endfor"])
            var otherwise: [TemplateNode] = []
            if currentKeyword() == "else" {
                index += 1
                otherwise = try parseBody(until: ["endfor"])
            }
            index += 1  // endfor
            return .loop(targets: targets, over: sequence, filter: filter, body: body, otherwise: otherwise)
        case "set":
            var parser = ExpressionParser(tokens: tokens)
            let target = try parser.expectName()
            let attribute = parser.accept(.punctuation(".")) ? try parser.expectName() : nil
            guard parser.accept(.punctuation("=")) else {
                throw ChatTemplateError("chat template: block `set` is not supported: \(source)")
            }
            let value = try parser.parseExpression()
            try parser.expectEnd(source)
            return .assignment(target: target, attribute: attribute, value)
        case "break", "continue":
            return .loopControl(breaks: keyword == "break")
        default:
            throw ChatTemplateError("chat template: {% \(keyword) %} is outside the supported Jinja subset")
        }
    }
}
