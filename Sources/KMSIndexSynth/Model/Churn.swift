import Foundation

/// Short-lived callers and objects for the shapes that want them (`churn`, and the object
/// pools of `cadence` and `year`). Kept apart from `Estate`, and drawn from their own random
/// sequence, so the default tree draws exactly what it always drew.
struct Churn {
    /// A role of one account whose sessions come and go.
    struct Role {
        let name: String
        let principalID: String
        let arn: String
        /// How its sessions are named: instance ids, SDK sessions, people, jobs.
        let naming: Int
    }

    /// A session in use: about an hour, its own temporary access key.
    struct Session {
        let role: Int
        let name: String
        let accessKeyID: String
        let start: Int64
        let end: Int64
        let sourceIdentity: String?
    }

    /// Roles of each account (empty when the shape has none).
    let roles: [[Role]]
    private let rolePick: WeightedTable?
    /// Sessions in use, per account.
    private var sessions: [[Session]]
    /// Objects written or read lately, per account and region: what later reads re-read.
    private var objects: [String: ObjectPool] = [:]
    private(set) var rng: SynthRandom

    static let teams = [
        "orders", "payments", "search", "recs", "ledger", "etl", "ml-train", "reporting", "fraud", "inventory",
        "shipping", "catalog", "identity", "billing", "support", "growth", "risk", "audit", "media", "notify",
    ]
    static let kinds = ["svc", "batch", "reader", "writer", "lambda", "ecs-task", "glue", "emr", "ci", "team"]

    init(estate: Estate, rolesPerAccount: Int, seed: UInt64) {
        var rng = SynthRandom(seed: seed ^ 0x6368_7572_6E5F_726E)  // "churn_rn"
        roles = estate.accounts.map { account in
            (0..<rolesPerAccount).map { i in
                let name = "\(Self.teams[i % Self.teams.count])-\(Self.kinds[(i / Self.teams.count) % Self.kinds.count])-\(i)"
                let path = i % 3 == 0 ? "/service-role/" : "/"
                return Role(
                    name: name, principalID: "AROA" + rng.upperAlphanumeric(17),
                    arn: "arn:aws:iam::\(account.id):role\(path)\(name)", naming: i % 4)
            }
        }
        // Zipf-like: a few roles are busy, most are not.
        rolePick = rolesPerAccount > 0 ? WeightedTable((0..<rolesPerAccount).map { 1 / Double($0 + 3) }) : nil
        sessions = estate.accounts.map { _ in [] }
        self.rng = rng
    }

    /// A caller in `account` at `time`: a new session (first seen now) with probability
    /// `newShare`, else one of the sessions in use. nil when the shape has no churn roles.
    mutating func caller(_ account: Account, at time: Int64, newShare: Double, invokedBy: String?) -> Identity? {
        guard let rolePick, !roles[account.index].isEmpty else { return nil }
        var live = sessions[account.index]
        live.removeAll { $0.end < time }
        let session: Session
        if live.isEmpty || rng.chance(newShare) {
            let role = rolePick.draw(&rng)
            let start = time - Int64(rng.int(in: 0...30)) * 1000
            let name: String
            switch roles[account.index][role].naming {
            case 0: name = "i-0" + rng.hex(16)
            case 1: name = "botocore-session-" + String(start / 1000)
            case 2: name = rng.pick(["ana", "ben", "chen", "dana", "eli", "fatima", "goro", "hana"]) + "." + rng.digits(3) + "@example.com"
            default: name = "job-" + rng.hex(12)
            }
            session = Session(
                role: role, name: name, accessKeyID: "ASIA" + rng.upperAlphanumeric(16), start: start,
                end: start + Int64(rng.int(in: 45...75)) * 60_000,
                sourceIdentity: roles[account.index][role].naming == 2 ? String(name.prefix { $0 != "@" }) : nil)
            live.append(session)
        } else {
            session = live[rng.below(live.count)]
        }
        sessions[account.index] = live
        let role = roles[account.index][session.role]
        var id = Identity(kind: .assumedRole)
        id.principalID = role.principalID + ":" + session.name
        id.arn = "arn:aws:sts::\(account.id):assumed-role/\(role.name)/\(session.name)"
        id.accountID = account.id
        id.accessKeyID = session.accessKeyID
        id.issuer = Identity.SessionIssuer(
            type: "Role", principalID: role.principalID, arn: role.arn, accountID: account.id, userName: role.name)
        id.webIdFederationData = true
        id.creationMs = session.start
        id.sourceIdentity = session.sourceIdentity
        id.invokedBy = invokedBy
        return id
    }

    /// A long-tail object to read in `bucket`: with probability `freshShare` nil (the caller
    /// makes a fresh one, read once, as a part file of a data-lake query), else one written
    /// lately.
    mutating func tailRead(bucket: String, freshShare: Double) -> String? {
        guard !rng.chance(freshShare), let pool = objects[bucket], !pool.isEmpty else { return nil }
        return pool.pick(&rng)
    }

    /// An object just written: later reads may name it.
    mutating func remember(bucket: String, key: String) {
        objects[bucket, default: ObjectPool()].add(key)
    }
}

/// The last objects of a bucket, a ring of fixed size: recent objects are re-read, old ones
/// fall out (memory stays flat however long the tree).
struct ObjectPool {
    static let capacity = 4096
    private var keys: [String] = []
    private var next = 0

    var isEmpty: Bool { keys.isEmpty }

    mutating func add(_ key: String) {
        if keys.count < Self.capacity {
            keys.append(key)
        } else {
            keys[next] = key
            next = (next + 1) % Self.capacity
        }
    }

    /// Recent objects more often than old ones.
    func pick(_ rng: inout SynthRandom) -> String {
        let newest = (next + keys.count - 1) % keys.count
        let back = Int(Double(keys.count) * pow(rng.unit(), 2.5))
        return keys[(newest - back + keys.count) % keys.count]
    }
}
