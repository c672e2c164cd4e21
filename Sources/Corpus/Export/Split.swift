import Foundation

/// An export's two splits. The raw values are the file-name prefixes (`train_input_ids.memmap`) and the keys of
/// `export_info.json`.
public enum Split: String, CaseIterable, Codable, Sendable {
    case train, val
}

/// One value per split; encoded as `{"train": ..., "val": ...}`.
public struct PerSplit<Value> {
    public var train: Value
    public var val: Value

    public init(train: Value, val: Value) {
        self.train = train
        self.val = val
    }

    public init(repeating value: Value) { self.init(train: value, val: value) }

    public subscript(split: Split) -> Value {
        get { split == .train ? train : val }
        set { if split == .train { train = newValue } else { val = newValue } }
    }

    public func map<T>(_ transform: (Value) throws -> T) rethrows -> PerSplit<T> {
        PerSplit<T>(train: try transform(train), val: try transform(val))
    }
}

extension PerSplit: Codable where Value: Codable {}
extension PerSplit: Equatable where Value: Equatable {}
extension PerSplit: Sendable where Value: Sendable {}
