import Foundation

/// A small, fast, seedable pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// Everything the generator draws comes from values of this type, in a fixed order, so the
/// same seed always yields the same tree. It never touches a system source of randomness.
struct SynthRandom: Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Seeds the four state words from `seed` through SplitMix64, as the xoshiro authors advise.
    init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// An independent generator derived from this one's next output and `label`.
    mutating func fork(_ label: UInt64) -> SynthRandom {
        SynthRandom(seed: next() ^ (label &* 0xD6E8_FEB8_6659_FD93))
    }

    /// A uniform integer in `0..<n` (`n` must be positive), by Lemire's multiply-shift method.
    mutating func below(_ n: Int) -> Int {
        precondition(n > 0, "below(_:) needs a positive bound")
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold {
                m = next().multipliedFullWidth(by: bound)
            }
        }
        return Int(m.high)
    }

    /// A uniform integer in the closed range.
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// A uniform double in `[0, 1)`.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool {
        unit() < p
    }

    /// One element of a non-empty array.
    mutating func pick<T>(_ items: [T]) -> T {
        items[below(items.count)]
    }

    /// A standard normal variate (Box-Muller).
    mutating func normal() -> Double {
        let u1 = max(unit(), 0x1.0p-53)
        let u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// `count` random hex digits.
    mutating func hex(_ count: Int, uppercase: Bool = false) -> String {
        let digits: StaticString = uppercase ? "0123456789ABCDEF" : "0123456789abcdef"
        return randomString(count, alphabet: digits)
    }

    /// `count` random characters from `[A-Za-z0-9]`.
    mutating func alphanumeric(_ count: Int) -> String {
        randomString(count, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    }

    /// `count` random characters from `[A-Z0-9]`, as in access key and principal ids.
    mutating func upperAlphanumeric(_ count: Int) -> String {
        randomString(count, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    }

    /// `count` random decimal digits.
    mutating func digits(_ count: Int) -> String {
        randomString(count, alphabet: "0123456789")
    }

    /// A random version-4 UUID in lowercase canonical form, as CloudTrail writes eventID.
    mutating func uuid() -> String {
        let hi = next()
        let lo = next()
        return String(unsafeUninitializedCapacity: 36) { out in
            let digits: StaticString = "0123456789abcdef"
            digits.withUTF8Buffer { hex in
                var n = 0
                for i in 0..<36 {
                    if i == 8 || i == 13 || i == 18 || i == 23 {
                        out[i] = UInt8(ascii: "-")
                        continue
                    }
                    let word = n < 16 ? hi : lo
                    var nibble = Int((word >> UInt64(60 - 4 * (n % 16))) & 0xF)
                    if n == 12 { nibble = 4 }  // version 4
                    if n == 16 { nibble = 8 | (nibble & 3) }  // RFC 4122 variant
                    out[i] = hex[nibble]
                    n += 1
                }
            }
            return 36
        }
    }

    private mutating func randomString(_ count: Int, alphabet: StaticString) -> String {
        alphabet.withUTF8Buffer { letters in
            String(unsafeUninitializedCapacity: count) { out in
                for i in 0..<count {
                    out[i] = letters[below(letters.count)]
                }
                return count
            }
        }
    }
}

/// A precomputed table for drawing an index with given relative weights.
struct WeightedTable: Sendable {
    private let cumulative: [Double]

    /// Builds the table; weights must be non-negative with a positive sum.
    init(_ weights: [Double]) {
        var total = 0.0
        var sums: [Double] = []
        sums.reserveCapacity(weights.count)
        for w in weights {
            total += w
            sums.append(total)
        }
        precondition(total > 0, "weights must have a positive sum")
        cumulative = sums.map { $0 / total }
    }

    /// Draws an index.
    func draw(_ rng: inout SynthRandom) -> Int {
        let u = rng.unit()
        var lo = 0
        var hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
