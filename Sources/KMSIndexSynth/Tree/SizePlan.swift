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

    /// The home region is busier than the others...
    static func regionFactor(_ stream: Int, _ regionsPerAccount: Int) -> Double {
        stream % regionsPerAccount == 0 ? 1.0 : 0.45
    }

    /// ...and the first account busier than the others.
    static func accountFactor(_ stream: Int, _ regionsPerAccount: Int) -> Double {
        stream / regionsPerAccount == 0 ? 1.0 : 0.7
    }

    init(
        slots: Int, streams: Int, regionsPerAccount: Int, target: Int?, sizing: ShapeProfile.Sizing, filesPerDay: Int,
        rng: inout SynthRandom
    ) {
        if case let .lognormal(median, sigma, cap) = sizing {
            budgets = Self.lognormal(
                slots: slots, slotsPerDay: filesPerDay, streams: streams, regionsPerAccount: regionsPerAccount,
                target: target, median: median,
                sigma: sigma, cap: cap, rng: &rng)
            return
        }
        let count = slots * streams
        var small = [Double](repeating: 0, count: count)
        for slot in 0..<slots {
            for stream in 0..<streams {
                let regionFactor = Self.regionFactor(stream, regionsPerAccount)
                let accountFactor = Self.accountFactor(stream, regionsPerAccount)
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

    /// CloudTrail's own cadence: every file's size lognormal around `median` (times the region
    /// and account factors), capped, then all scaled to meet `target` when there is one. A
    /// daily rhythm (busier in working hours, UTC) rides on top.
    private static func lognormal(
        slots: Int, slotsPerDay: Int, streams: Int, regionsPerAccount: Int, target: Int?, median: Double,
        sigma: Double, cap: Int, rng: inout SynthRandom
    ) -> [Int] {
        var sizes = [Double](repeating: 0, count: slots * streams)
        for slot in 0..<slots {
            let hour = Double(slot % slotsPerDay) / Double(slotsPerDay) * 24
            let rhythm = 1 + 0.35 * sin((hour - 8) / 24 * 2 * Double.pi)
            for stream in 0..<streams {
                let factor = regionFactor(stream, regionsPerAccount) * accountFactor(stream, regionsPerAccount)
                sizes[slot * streams + stream] = median * factor * rhythm * exp(sigma * rng.normal())
            }
        }
        var scale = 1.0
        if let target {
            // Scale, then cap; the capped files' excess goes to the others (twice is enough).
            for _ in 0..<3 {
                let total = sizes.reduce(0) { $0 + min(Double(cap), $1 * scale) }
                scale *= Double(target) / total
            }
        }
        return sizes.map { max(600, min(cap, Int($0 * scale))) }
    }
}
