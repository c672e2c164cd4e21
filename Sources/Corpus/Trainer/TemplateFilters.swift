import Foundation

/// Jinja's filters, tests and operators, and the string and dict methods chat templates call, with the
/// results Python gives.
enum TemplateFilters {
    static func apply(_ name: String, _ value: TemplateValue, _ arguments: [TemplateValue], _ keywords: [String: TemplateValue]) throws
        -> TemplateValue
    {
        switch name {
        case "trim": return try method("strip", of: value, arguments)
        case "length", "count":
            switch value {
            case let .string(s): return .integer(s.count)
            case let .list(l): return .integer(l.count)
            case let .dict(d): return .integer(d.keys.count)
            default: throw ChatTemplateError("chat template: \(value.pythonRepr) has no length")
            }
        case "tojson":
            var indent: Int?
            if case let .integer(n)? = keywords["indent"] ?? arguments.first { indent = n }
            return .string(json(value, indent: indent, level: 0))
        case "items": return try method("items", of: value, [])
        case "list": return .list(try iterate(value))
        case "first": return try iterate(value).first ?? .undefined
        case "last": return try iterate(value).last ?? .undefined
        case "join":
            let separator = (keywords["d"] ?? arguments.first)?.printed ?? ""
            return .string(try iterate(value).map(\.printed).joined(separator: separator))
        case "reject", "select":
            guard case let .string(test)? = arguments.first else { throw ChatTemplateError("chat template: \(name) needs a test name") }
            let rest = Array(arguments.dropFirst())
            return .list(try iterate(value).filter { try Self.test(test, $0, rest) == (name == "select") })
        case "lower", "upper", "title", "capitalize":
            guard case let .string(s) = value else { throw ChatTemplateError("chat template: \(name) of \(value.pythonRepr)") }
            switch name {
            case "lower": return .string(s.lowercased())
            case "upper": return .string(s.uppercased())
            case "title": return .string(s.capitalized)
            default: return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
            }
        case "string": return .string(value.printed)
        case "default", "d":
            let boolean = (keywords["boolean"] ?? (arguments.count > 1 ? arguments[1] : .bool(false))).isTrue
            if value == .undefined || (boolean && !value.isTrue) { return arguments.first ?? .string("") }
            return value
        case "replace": return try method("replace", of: value, arguments)
        default: throw ChatTemplateError("chat template: filter `\(name)` is outside the supported subset")
        }
    }

    static func test(_ name: String, _ value: TemplateValue, _ arguments: [TemplateValue]) throws -> Bool {
        switch name {
        case "defined": return value != .undefined
        case "undefined": return value == .undefined
        case "none": return value == .none
        case "string": if case .string = value { return true } else { return false }
        case "mapping": if case .dict = value { return true } else { return false }
        case "iterable", "sequence":
            switch value {
            case .string, .list, .dict: return true
            default: return false
            }
        case "number": if case .integer = value { return true } else if case .float = value { return true } else { return false }
        case "integer": if case .integer = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": return value == .bool(true)
        case "false": return value == .bool(false)
        case "equalto", "eq", "==", "sameas":
            guard let other = arguments.first else { throw ChatTemplateError("chat template: test \(name) needs an argument") }
            return try binary("==", value, other) == .bool(true)
        case "odd", "even":
            guard case let .integer(n) = value else { return false }
            return (n % 2 != 0) == (name == "odd")
        case "in":
            guard let other = arguments.first else { throw ChatTemplateError("chat template: test in needs an argument") }
            return try binary("in", value, other).isTrue
        default: throw ChatTemplateError("chat template: test `\(name)` is outside the supported subset")
        }
    }

    static func binary(_ op: String, _ l: TemplateValue, _ r: TemplateValue) throws -> TemplateValue {
        switch op {
        case "==": return .bool(equal(l, r))
        case "!=": return .bool(!equal(l, r))
        case "~": return .string(l.printed + r.printed)
        case "in":
            switch r {
            case let .string(s):
                guard case let .string(needle) = l else { throw ChatTemplateError("chat template: `in` a string needs a string") }
                return .bool(needle.isEmpty || s.contains(needle))
            case let .list(items): return .bool(items.contains { equal($0, l) })
            case let .dict(d), let .namespace(d):
                guard case let .string(key) = l else { return .bool(false) }
                return .bool(d[key] != nil)
            default: throw ChatTemplateError("chat template: `in` \(r.pythonRepr)")
            }
        default: break
        }
        switch (l, r) {
        case let (.string(a), .string(b)) where op == "+": return .string(a + b)
        case let (.list(a), .list(b)) where op == "+": return .list(a + b)
        case let (.integer(a), .integer(b)):
            switch op {
            case "+": return .integer(a + b)
            case "-": return .integer(a - b)
            case "*": return .integer(a * b)
            case "//": return .integer(Int((Double(a) / Double(b)).rounded(.down)))
            case "%": return .integer(((a % b) + b) % b)
            case "/": return .float(Double(a) / Double(b))
            case "<": return .bool(a < b)
            case "<=": return .bool(a <= b)
            case ">": return .bool(a > b)
            case ">=": return .bool(a >= b)
            default: break
            }
        case let (.string(a), .string(b)):
            switch op {
            case "<": return .bool(a < b)
            case "<=": return .bool(a <= b)
            case ">": return .bool(a > b)
            case ">=": return .bool(a >= b)
            default: break
            }
        default: break
        }
        throw ChatTemplateError("chat template: \(l.pythonRepr) \(op) \(r.pythonRepr) is undefined (a missing variable or field?)")
    }

    private static func equal(_ l: TemplateValue, _ r: TemplateValue) -> Bool {
        switch (l, r) {
        case let (.integer(a), .float(b)): return Double(a) == b
        case let (.float(a), .integer(b)): return a == Double(b)
        case let (.bool(a), .integer(b)): return (a ? 1 : 0) == b
        case let (.integer(a), .bool(b)): return a == (b ? 1 : 0)
        default: return l == r
        }
    }

    static func method(_ name: String, of value: TemplateValue, _ arguments: [TemplateValue]) throws -> TemplateValue {
        switch value {
        case let .string(s):
            let chars = arguments.first.flatMap { if case let .string(c) = $0 { return Set(c.unicodeScalars) } else { return nil } }
            func strippable(_ c: Unicode.Scalar) -> Bool { chars.map { $0.contains(c) } ?? c.properties.isWhitespace }
            var scalars = Array(s.unicodeScalars)
            switch name {
            case "strip", "lstrip", "rstrip":
                if name != "rstrip" { while let f = scalars.first, strippable(f) { scalars.removeFirst() } }
                if name != "lstrip" { while let l = scalars.last, strippable(l) { scalars.removeLast() } }
                return .string(String(String.UnicodeScalarView(scalars)))
            case "startswith", "endswith":
                guard case let .string(affix)? = arguments.first else { break }
                return .bool(name == "startswith" ? s.hasPrefix(affix) : s.hasSuffix(affix))
            case "lower": return .string(s.lowercased())
            case "upper": return .string(s.uppercased())
            case "replace":
                guard arguments.count == 2, case let .string(a) = arguments[0], case let .string(b) = arguments[1] else { break }
                return .string(s.replacingOccurrences(of: a, with: b))
            case "split":
                if case let .string(separator)? = arguments.first {
                    return .list(s.components(separatedBy: separator).map { .string($0) })
                }
                return .list(s.split(whereSeparator: { $0.isWhitespace }).map { .string(String($0)) })
            default: break
            }
        case let .dict(d):
            switch name {
            case "items": return .list(d.pairs.map { .list([.string($0.0), $0.1]) })
            case "keys": return .list(d.keys.map { .string($0) })
            case "values": return .list(d.pairs.map(\.1))
            case "get":
                guard case let .string(key)? = arguments.first else { break }
                return d[key] ?? (arguments.count > 1 ? arguments[1] : .none)
            default: break
            }
        default: break
        }
        throw ChatTemplateError("chat template: method `\(name)` of \(value.pythonRepr) is outside the supported subset")
    }

    static func iterate(_ value: TemplateValue) throws -> [TemplateValue] {
        switch value {
        case let .list(l): return l
        case let .dict(d): return d.keys.map { .string($0) }
        case let .string(s): return s.map { .string(String($0)) }
        default: throw ChatTemplateError("chat template: \(value.pythonRepr) is not iterable")
        }
    }

    /// `json.dumps(value, ensure_ascii=False, indent=indent)`, Transformers' `tojson`.
    static func json(_ value: TemplateValue, indent: Int?, level: Int) -> String {
        let (itemSeparator, keySeparator) = indent == nil ? (", ", ": ") : (",", ": ")
        func wrap(_ open: String, _ items: [String], _ close: String) -> String {
            guard !items.isEmpty else { return open + close }
            guard let indent else { return open + items.joined(separator: itemSeparator) + close }
            let inner = "\n" + String(repeating: " ", count: indent * (level + 1))
            let outer = "\n" + String(repeating: " ", count: indent * level)
            return open + inner + items.joined(separator: itemSeparator + inner) + outer + close
        }
        switch value {
        case .undefined, .none: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .integer(n): return String(n)
        case let .float(x): return String(x)
        case let .string(s): return quoted(s)
        case let .list(l): return wrap("[", l.map { json($0, indent: indent, level: level + 1) }, "]")
        case let .dict(d), let .namespace(d):
            return wrap("{", d.pairs.map { quoted($0.0) + keySeparator + json($0.1, indent: indent, level: level + 1) }, "}")
        }
    }

    /// Python's `json.dumps` string escapes, which the codes JSON uses too.
    private static func quoted(_ s: String) -> String { CodesJSON.quoted(s) }

    private static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]
    private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// Python's `strftime` for the C locale, on `date` in UTC.
    static func strftime(_ format: String, _ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var out = "", percent = false
        for ch in format {
            guard percent else {
                if ch == "%" { percent = true } else { out.append(ch) }
                continue
            }
            percent = false
            switch ch {
            case "d": out += two(c.day!)
            case "e": out += c.day! < 10 ? " \(c.day!)" : "\(c.day!)"
            case "m": out += two(c.month!)
            case "b", "h": out += String(months[c.month! - 1].prefix(3))
            case "B": out += months[c.month! - 1]
            case "Y": out += String(c.year!)
            case "y": out += two(c.year! % 100)
            case "H": out += two(c.hour!)
            case "M": out += two(c.minute!)
            case "S": out += two(c.second!)
            case "a": out += String(weekdays[c.weekday! - 1].prefix(3))
            case "A": out += weekdays[c.weekday! - 1]
            case "j": out += String(format: "%03d", dayOfYear)
            case "%": out += "%"
            default: out += "%" + String(ch)
            }
        }
        return out
    }
}
