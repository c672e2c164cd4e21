/// The BPE model of a byte-level tokenizer: vocabulary, merges and the `ignore_merges` switch, keyed by raw
/// bytes (the byte-level characters of `tokenizer.json` are decoded once at load time).
struct BytePairModel {
    var vocabulary: ByteStringTable
    var merges: PairTable
    /// The token of each single byte, -1 when the vocabulary lacks it (`tokenizers` then drops the byte).
    var byteTokens: [Int32]
    /// `tokenizers`' `ignore_merges` (Llama 3 sets it, and tiktoken behaves so): a pre-token that is itself in
    /// the vocabulary is that token, whatever the merges would make of it.
    var ignoreMerges: Bool
}

/// Encodes pre-tokens with a `BytePairModel`. Holds the scratch buffers and the word cache, so one per
/// thread. Merging follows `tokenizers` (and tiktoken): repeatedly merge the adjacent pair of lowest rank,
/// the leftmost one on ties. Short words use a linear scan; long ones a heap, so a megabyte of letters
/// without a space costs n log n, not n².
final class BytePairEncoder {
    let model: BytePairModel
    private static let heapThreshold = 64
    /// `tokenizers` caches words shorter than 256 bytes, up to 10 000 of them, and then stops adding.
    private static let cacheableLength = 256, cacheCapacity = 10_000

    private var cache = ByteStringTable(capacity: BytePairEncoder.cacheCapacity)
    private var cachedTokens: [Int32] = []
    private var cachedSpans: [(start: Int32, count: Int32)] = []

    private var tokens: [Int32] = []
    private var pairRanks: [UInt32] = []
    private var previous: [Int32] = []
    private var next: [Int32] = []
    private var heap: [UInt64] = []  // rank << 32 | position

    init(model: BytePairModel) {
        self.model = model
    }

    /// Appends the tokens of one pre-token (raw bytes) to `output`.
    func encode(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        guard !word.isEmpty else { return }
        if model.ignoreMerges || word.count == 1, let id = model.vocabulary.value(word) {
            output.append(id)
            return
        }
        let cacheable = word.count < Self.cacheableLength
        if cacheable, let entry = cache.value(word) {
            let span = cachedSpans[Int(entry)]
            output.append(contentsOf: cachedTokens[Int(span.start)..<Int(span.start + span.count)])
            return
        }
        let start = output.count
        tokens.removeAll(keepingCapacity: true)
        for byte in word where model.byteTokens[Int(byte)] >= 0 { tokens.append(model.byteTokens[Int(byte)]) }
        if tokens.count > Self.heapThreshold { mergeWithHeap(into: &output) } else { mergeByScanning(into: &output) }
        if cacheable && cache.count < Self.cacheCapacity {
            cache.set(word, Int32(cachedSpans.count))
            cachedSpans.append((Int32(cachedTokens.count), Int32(output.count - start)))
            cachedTokens.append(contentsOf: output[start...])
        }
    }

    private static let noMerge = UInt32.max

    @inline(__always)
    private func rank(_ left: Int32, _ right: Int32) -> UInt32 { model.merges.merge(left, right)?.rank ?? Self.noMerge }

    private func mergeByScanning(into output: inout [Int32]) {
        var count = tokens.count
        pairRanks.removeAll(keepingCapacity: true)
        for i in 0..<max(count - 1, 0) { pairRanks.append(rank(tokens[i], tokens[i + 1])) }
        while count > 1 {
            var best = Self.noMerge, at = -1
            for i in 0..<(count - 1) where pairRanks[i] < best {
                best = pairRanks[i]
                at = i
            }
            if at < 0 { break }
            tokens[at] = model.merges.merge(tokens[at], tokens[at + 1])!.token
            tokens.remove(at: at + 1)
            pairRanks.remove(at: at)
            count -= 1
            if at > 0 { pairRanks[at - 1] = rank(tokens[at - 1], tokens[at]) }
            if at < count - 1 { pairRanks[at] = rank(tokens[at], tokens[at + 1]) }
        }
        output.append(contentsOf: tokens[0..<count])
    }

    private func mergeWithHeap(into output: inout [Int32]) {
        let count = tokens.count
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for i in 0..<count {
            previous.append(Int32(i - 1))
            next.append(i + 1 < count ? Int32(i + 1) : -1)
        }
        for i in 0..<(count - 1) { push(rank(tokens[i], tokens[i + 1]), i) }
        while let top = popMin() {
            let rank = UInt32(top >> 32), position = Int(top & 0xffff_ffff)
            // Stale entries: the left symbol was absorbed, has no right neighbour, or the pair changed.
            guard tokens[position] >= 0, next[position] >= 0 else { continue }
            let right = Int(next[position])
            guard let merge = model.merges.merge(tokens[position], tokens[right]), merge.rank == rank else { continue }
            tokens[position] = merge.token
            tokens[right] = -1
            next[position] = next[right]
            if next[right] >= 0 { previous[Int(next[right])] = Int32(position) }
            if previous[position] >= 0 {
                let left = Int(previous[position])
                push(self.rank(tokens[left], tokens[position]), left)
            }
            if next[position] >= 0 { push(self.rank(tokens[position], tokens[Int(next[position])]), position) }
        }
        var i = 0
        while i >= 0 {
            output.append(tokens[i])
            i = Int(next[i])
        }
    }

    @inline(__always)
    private func push(_ rank: UInt32, _ position: Int) {
        guard rank != Self.noMerge else { return }
        heap.append(UInt64(rank) << 32 | UInt64(position))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[parent] <= heap[child] { break }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    private func popMin() -> UInt64? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left] < heap[smallest] { smallest = left }
            if right < heap.count && heap[right] < heap[smallest] { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
