/// One chain of signed digests (an account and region), as the ground truth of a signed tree
/// lists it: every digest from `oldest` to `newest` names the one before it, and every one
/// but the newest has its signature in the next digest.
public struct GroundTruthDigestChain: Codable, Equatable, Sendable {
    public var account: String
    public var region: String
    /// Digest files in the chain.
    public var digests: Int
    /// Object keys of the starting digest and of the newest one (unsigned in the tree).
    public var oldest: String
    public var newest: String

    public init(account: String, region: String, digests: Int, oldest: String, newest: String) {
        self.account = account
        self.region = region
        self.digests = digests
        self.oldest = oldest
        self.newest = newest
    }
}
