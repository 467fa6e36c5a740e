import Foundation

/// How many uncompressed bytes each log file gets: most files small (a few KB to under
/// 100 KB), busier in the home region and the first account, and, when a target size asks for
/// more than small files can hold, a few heavy files of tens of MB that take the rest.
struct SizePlan {
    /// Budget of each log file, indexed `slot * streams + stream`.
    let budgets: [Int]

    static let smallMedian = 24_000.0
    static let smallCap = 95_000
    static let heavyTypical = 40_000_000
    static let heavyCap = 128_000_000

    init(slots: Int, streams: Int, regionsPerAccount: Int, target: Int?, rng: inout SynthRandom) {
        let count = slots * streams
        var small = [Double](repeating: 0, count: count)
        for slot in 0..<slots {
            for stream in 0..<streams {
                let regionFactor = stream % regionsPerAccount == 0 ? 1.0 : 0.45
                let accountFactor = stream / regionsPerAccount == 0 ? 1.0 : 0.7
                let size = Self.smallMedian * regionFactor * accountFactor * exp(0.8 * rng.normal())
                small[slot * streams + stream] = min(Double(Self.smallCap), max(4_000, size))
            }
        }
        let smallTotal = small.reduce(0, +)

        guard let target else {
            // Without a target, one file of about a megabyte hints at the tail.
            var plan = small.map { Int($0) }
            if count >= 8 {
                plan[rng.below(count)] = rng.int(in: 600_000...1_500_000)
            }
            budgets = plan
            return
        }
        let wanted = Double(target)
        if wanted <= smallTotal * 1.5 || count < 4 {
            let scale = wanted / smallTotal
            budgets = small.map { max(1, Int($0 * scale)) }
            return
        }
        // A few heavy files take what small files cannot.
        var rest = wanted - smallTotal
        let maxHeavy = max(1, count / 10)
        let heavyCount = min(maxHeavy, max(1, Int((rest / Double(Self.heavyTypical)).rounded(.up))))
        var smallScale = 1.0
        if rest / Double(heavyCount) > Double(Self.heavyCap) {
            rest = Double(heavyCount * Self.heavyCap)
            smallScale = (wanted - rest) / smallTotal
        }
        var plan = small.map { Int($0 * smallScale) }
        var chosen = Set<Int>()
        while chosen.count < heavyCount {
            chosen.insert(rng.below(count))
        }
        let heavyIndexes = chosen.sorted()
        let weights = heavyIndexes.map { _ in 0.6 + 0.8 * rng.unit() }
        let weightTotal = weights.reduce(0, +)
        for (index, weight) in zip(heavyIndexes, weights) {
            plan[index] = Int(rest * weight / weightTotal)
        }
        budgets = plan
    }
}
