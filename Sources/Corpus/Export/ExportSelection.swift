import Foundation
import Store

/// The rows an export writes, decided before any is written: the filters, the split, the prompts and the overflow
/// drops. Kept per row: its rowid, split position, prompt and whether it is dropped; not its text or codes.
struct ExportSelection {
    var filterCounts: [FilterCount] = []
    /// Done utterances before any filter.
    var doneRows = 0
    /// rowid of each selected row, store order.
    var rowids: [Int64] = []
    /// Index (into `rowids`) of each row's prompt, -1 for none.
    var prompts: [Int32] = []
    /// Rows with a speaker but no other utterance of theirs in the prompt range within their split.
    var rowsWithoutPrompt = 0
    /// Permuted positions of dropped rows, per split, sorted.
    var droppedPositions = PerSplit<[Int]>(repeating: [])
    var trainCount = 0, valCount = 0
    var permutation = RowPermutation(count: 0, seed: 0)
    /// The filters, for the streaming query.
    var query = ExportQuery()

    var selected: Int { rowids.count }
    var dropped: Int { droppedPositions.train.count + droppedPositions.val.count }

    /// Leaves the selected row `index` out of its split.
    mutating func drop(index: Int) {
        let position = permutation(index)
        if position < trainCount { droppedPositions.train.append(position) } else { droppedPositions.val.append(position - trainCount) }
    }

    /// The split and the position within it of selected row `index`; nil when dropped.
    func place(_ index: Int) -> (split: Split, position: Int)? {
        let p = permutation(index)
        let (split, position) = p < trainCount ? (Split.train, p) : (.val, p - trainCount)
        let drops = droppedPositions[split]
        // Binary search: how many dropped rows come before this one, to close the gaps they leave.
        var (low, high) = (0, drops.count)
        while low < high {
            let mid = (low + high) / 2
            if drops[mid] < position { low = mid + 1 } else { high = mid }
        }
        if low < drops.count && drops[low] == position { return nil }
        return (split, position - low)
    }
}
