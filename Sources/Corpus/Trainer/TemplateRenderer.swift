import Foundation

/// A value inside a chat template, with Python's semantics where Jinja borrows them.
enum TemplateValue: Sendable, Equatable {
    case undefined
    case none
    case bool(Bool)
    case integer(Int)
    case float(Double)
    case string(String)
    case list([TemplateValue])
    /// Keys in insertion order, as a Python dict keeps them (tojson and items() follow it).
    case dict(TemplateDictionary)
    /// `namespace(...)`: attributes a loop body may set.
    case namespace(TemplateDictionary)

    static func dict(_ pairs: KeyValuePairs<String, TemplateValue>) -> TemplateValue {
        .dict(TemplateDictionary(pairs.map { ($0.key, $0.value) }))
    }

    var isTrue: Bool {
        switch self {
        case .undefined, .none: return false
        case let .bool(b): return b
        case let .integer(n): return n != 0
        case let .float(x): return x != 0
        case let .string(s): return !s.isEmpty
        case let .list(l): return !l.isEmpty
        case let .dict(d), let .namespace(d): return !d.keys.isEmpty
        }
    }

    /// `str(value)` as Jinja prints it.
    var printed: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .integer(n): return String(n)
        case let .float(x): return x == x.rounded() && abs(x) < 1e16 ? String(format: "%.1f", x) : String(x)
        case let .string(s): return s
        case .list, .dict, .namespace: return pythonRepr
        }
    }

    var pythonRepr: String {
        switch self {
        case let .string(s): return "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        case let .list(l): return "[" + l.map(\.pythonRepr).joined(separator: ", ") + "]"
        case let .dict(d), let .namespace(d): return "{" + d.pairs.map { "'\($0.0)': \($0.1.pythonRepr)" }.joined(separator: ", ") + "}"
        default: return printed
        }
    }
}

struct TemplateDictionary: Sendable, Equatable {
    private(set) var keys: [String] = []
    private var values: [String: TemplateValue] = [:]

    init(_ pairs: [(String, TemplateValue)]) { for (k, v) in pairs { self[k] = v } }

    subscript(key: String) -> TemplateValue? {
        get { values[key] }
        set {
            if values[key] == nil && newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }

    var pairs: [(String, TemplateValue)] { keys.map { ($0, values[$0]!) } }
}

/// Walks a parsed template. Scopes follow Jinja: a `for` body gets its own (a `set` inside does not leak out).
struct TemplateRenderer {
    private var scopes: [[String: TemplateValue]]
    private let date: Date
    private(set) var output = ""

    private enum LoopSignal: Error { case breakLoop, continueLoop }

    init(globals: [String: TemplateValue], date: Date) {
        scopes = [globals]
        self.date = date
    }

    mutating func render(_ nodes: [TemplateNode]) throws {
        for node in nodes {
            switch node {
            case let .text(t): output += t
            case let .output(expression): output += try evaluate(expression).printed
            case let .conditional(branches, otherwise):
                var taken = false
                for (condition, body) in branches where try evaluate(condition).isTrue {
                    try render(body)
                    taken = true
                    break
                }
                if !taken { try render(otherwise) }
            case let .loop(targets, sequence, filter, body, otherwise):
                try renderLoop(
                    targets: targets, items: try iterate(try evaluate(sequence)), filter: filter, body: body, otherwise: otherwise)
            case let .assignment(target, attribute, expression):
                let value = try evaluate(expression)
                if let attribute {
                    guard case var .namespace(d) = lookup(target) else {
                        throw ChatTemplateError("chat template: cannot set `\(target).\(attribute)`: not a namespace")
                    }
                    d[attribute] = value
                    assignNamespace(target, .namespace(d))
                } else {
                    scopes[scopes.count - 1][target] = value
                }
            case let .loopControl(breaks): throw breaks ? LoopSignal.breakLoop : LoopSignal.continueLoop
            }
        }
    }

    private mutating func renderLoop(
        targets: [String], items: [TemplateValue], filter: TemplateExpression?, body: [TemplateNode], otherwise: [TemplateNode]
    ) throws {
        var kept = items
        if let filter {
            kept = []
            for item in items {
                scopes.append(bind(targets, item))
                defer { scopes.removeLast() }
                if try evaluate(filter).isTrue { kept.append(item) }
            }
        }
        if kept.isEmpty { return try render(otherwise) }
        for (i, item) in kept.enumerated() {
            var scope = try bindChecked(targets, item)
            scope["loop"] = .dict([
                "index": .integer(i + 1), "index0": .integer(i), "first": .bool(i == 0), "last": .bool(i == kept.count - 1),
                "length": .integer(kept.count), "revindex": .integer(kept.count - i), "revindex0": .integer(kept.count - i - 1),
                "previtem": i > 0 ? kept[i - 1] : .undefined, "nextitem": i + 1 < kept.count ? kept[i + 1] : .undefined,
            ])
            scopes.append(scope)
            defer { scopes.removeLast() }
            do { try render(body) } catch LoopSignal.breakLoop { break } catch LoopSignal.continueLoop { continue }
        }
    }

    private func bind(_ targets: [String], _ item: TemplateValue) -> [String: TemplateValue] {
        (try? bindChecked(targets, item)) ?? [:]
    }

    private func bindChecked(_ targets: [String], _ item: TemplateValue) throws -> [String: TemplateValue] {
        if targets.count == 1 { return [targets[0]: item] }
        guard case let .list(parts) = item, parts.count == targets.count else {
            throw ChatTemplateError("chat template: cannot unpack \(item.pythonRepr) into \(targets.joined(separator: ", "))")
        }
        return Dictionary(uniqueKeysWithValues: zip(targets, parts))
    }

    private func lookup(_ name: String) -> TemplateValue {
        for scope in scopes.reversed() { if let value = scope[name] { return value } }
        return .undefined
    }

    private mutating func assignNamespace(_ name: String, _ value: TemplateValue) {
        for i in scopes.indices.reversed() where scopes[i][name] != nil {
            scopes[i][name] = value
            return
        }
    }

    /// A `for` over an undefined name renders nothing, as in Jinja; the rest iterate as the filters do.
    private func iterate(_ value: TemplateValue) throws -> [TemplateValue] {
        value == .undefined ? [] : try TemplateFilters.iterate(value)
    }

    // MARK: Expressions

    mutating func evaluate(_ expression: TemplateExpression) throws -> TemplateValue {
        switch expression {
        case let .literal(v): return v
        case let .name(n):
            if n == "strftime_now" || n == "raise_exception" || n == "namespace" { return .string("<function \(n)>") }
            return lookup(n)
        case let .list(items): return .list(try items.map { try evaluate($0) })
        case let .dict(pairs):
            var d = TemplateDictionary([])
            for (k, v) in pairs { d[try evaluate(k).printed] = try evaluate(v) }
            return .dict(d)
        case let .attribute(base, name): return member(try evaluate(base), name)
        case let .index(base, index): return try item(try evaluate(base), try evaluate(index))
        case let .slice(base, lower, upper):
            return try slice(try evaluate(base), lower.map { try evaluate($0) }, upper.map { try evaluate($0) })
        case let .call(callee, positional, keywords):
            let arguments = try positional.map { try evaluate($0) }
            let named = try keywords.map { ($0.0, try evaluate($0.1)) }
            return try call(callee, arguments, named)
        case let .filter(base, name, positional, keywords):
            let value = try evaluate(base)
            let arguments = try positional.map { try evaluate($0) }
            let named = Dictionary(try keywords.map { ($0.0, try evaluate($0.1)) }, uniquingKeysWith: { $1 })
            return try TemplateFilters.apply(name, value, arguments, named)
        case let .test(base, name, positional, negated):
            let value = try evaluate(base)
            let result = try TemplateFilters.test(name, value, try positional.map { try evaluate($0) })
            return .bool(result != negated)
        case let .unary(op, operand):
            let value = try evaluate(operand)
            if op == "not" { return .bool(!value.isTrue) }
            switch value {
            case let .integer(n): return .integer(-n)
            case let .float(x): return .float(-x)
            default: throw ChatTemplateError("chat template: cannot negate \(value.pythonRepr)")
            }
        case let .binary(op, left, right):
            if op == "and" {
                let l = try evaluate(left)
                return l.isTrue ? try evaluate(right) : l
            }
            if op == "or" {
                let l = try evaluate(left)
                return l.isTrue ? l : try evaluate(right)
            }
            return try TemplateFilters.binary(op, try evaluate(left), try evaluate(right))
        case let .conditional(value, condition, otherwise):
            if try evaluate(condition).isTrue { return try evaluate(value) }
            return try otherwise.map { try evaluate($0) } ?? .undefined
        }
    }

    private func member(_ base: TemplateValue, _ name: String) -> TemplateValue {
        switch base {
        case let .dict(d), let .namespace(d): return d[name] ?? .undefined
        default: return .undefined
        }
    }

    private func item(_ base: TemplateValue, _ index: TemplateValue) throws -> TemplateValue {
        switch (base, index) {
        case let (.dict(d), .string(k)), let (.namespace(d), .string(k)): return d[k] ?? .undefined
        case let (.list(l), .integer(i)):
            let j = i < 0 ? l.count + i : i
            return l.indices.contains(j) ? l[j] : .undefined
        case let (.string(s), .integer(i)):
            let chars = Array(s)
            let j = i < 0 ? chars.count + i : i
            return chars.indices.contains(j) ? .string(String(chars[j])) : .undefined
        default: return .undefined
        }
    }

    private func slice(_ base: TemplateValue, _ lower: TemplateValue?, _ upper: TemplateValue?) throws -> TemplateValue {
        func bounds(_ count: Int) throws -> Range<Int> {
            func resolve(_ v: TemplateValue?, _ fallback: Int) throws -> Int {
                guard let v, v != .none else { return fallback }
                guard case let .integer(i) = v else { throw ChatTemplateError("chat template: slice bound \(v.pythonRepr)") }
                return min(max(i < 0 ? count + i : i, 0), count)
            }
            let lo = try resolve(lower, 0), hi = try resolve(upper, count)
            return lo..<max(lo, hi)
        }
        switch base {
        case let .list(l): return .list(Array(l[try bounds(l.count)]))
        case let .string(s):
            let chars = Array(s)
            return .string(String(chars[try bounds(chars.count)]))
        default: throw ChatTemplateError("chat template: cannot slice \(base.pythonRepr)")
        }
    }

    private mutating func call(_ callee: TemplateExpression, _ arguments: [TemplateValue], _ keywords: [(String, TemplateValue)]) throws
        -> TemplateValue
    {
        if case let .name(function) = callee {
            switch function {
            case "raise_exception":
                throw ChatTemplateError("chat template raised: \(arguments.first?.printed ?? "")")
            case "strftime_now":
                guard case let .string(format)? = arguments.first else {
                    throw ChatTemplateError("chat template: strftime_now needs a format")
                }
                return .string(TemplateFilters.strftime(format, date))
            case "namespace":
                return .namespace(TemplateDictionary(keywords))
            case "range":
                let ints = arguments.compactMap { if case let .integer(i) = $0 { return i } else { return nil } }
                guard ints.count == arguments.count, (1...2).contains(ints.count) else {
                    throw ChatTemplateError("chat template: range arguments")
                }
                let (lo, hi) = ints.count == 1 ? (0, ints[0]) : (ints[0], ints[1])
                return .list(hi > lo ? (lo..<hi).map { .integer($0) } : [])
            default: break
            }
        }
        if case let .attribute(base, method) = callee {
            return try TemplateFilters.method(method, of: try evaluate(base), arguments)
        }
        throw ChatTemplateError("chat template: calling this is outside the supported subset")
    }
}
