/// EC2 management events: DescribeInstances with a large nested response, tags in Japanese
/// and emoji, and a service event with no userIdentity at all.
extension RecordFactory {
    static let instanceNames = [
        "web-サーバー-01 🚀", "batch worker (spot)", "本番データベース", "bastion \"jump\" host", "ml-training-🔥-gpu",
        "legacy\\windows\\box", "café-api",
    ]

    func backgroundEC2(_ place: StreamPlace, at time: Int64) {
        switch rng.below(10) {
        case 0..<5: describeInstances(place, at: time)
        case 5..<8: createTags(place, at: time)
        default: describeVolumes(place, at: time)
        }
    }

    /// DescribeInstances whose responseElements hold up to a few dozen instances.
    func describeInstances(_ place: StreamPlace, at time: Int64, count: Int? = nil) {
        let identity =
            rng.chance(0.5)
            ? ids.awsService(rng.pick(["autoscaling.amazonaws.com", "ssm.amazonaws.com", "elasticloadbalancing.amazonaws.com"]))
            : ids.randomCaller(place.account, at: time, rng: &rng)
        var envelope = plainEnvelope("ec2.amazonaws.com", "DescribeInstances", place, at: time, identity: identity, readOnly: true)
        envelope.tlsHost = "ec2.\(place.region.name).amazonaws.com"
        let n = count ?? (rng.chance(0.8) ? rng.int(in: 1...4) : rng.int(in: 5...30))
        var instances: [(id: String, image: String, ip: String, subnet: String, vpc: String, volume: String, name: String, launch: Int64)] =
            []
        for _ in 0..<n {
            instances.append(
                (
                    "i-0" + rng.hex(16), "ami-0" + rng.hex(16),
                    "10.0.\(rng.int(in: 0...255)).\(rng.int(in: 1...254))", "subnet-0" + rng.hex(16), "vpc-0" + rng.hex(16),
                    "vol-0" + rng.hex(16), rng.pick(Self.instanceNames), time - Int64(rng.int(in: 3600...90 * 86400)) * 1000
                ))
        }
        let reservation = "r-0" + rng.hex(16)
        let requestID = rng.uuid()
        let owner = place.account.id
        let zone = place.region.name + rng.pick(["a", "b", "c"])
        emit(envelope) { w in
            w.key("requestParameters")
            w.beginObject()
            w.key("instancesSet")
            w.beginObject()
            w.endObject()
            w.key("filterSet")
            w.beginObject()
            w.key("items")
            w.beginArray()
            w.beginObject()
            w.field("name", "instance-state-name")
            w.key("valueSet")
            w.beginObject()
            w.key("items")
            w.beginArray()
            w.beginObject()
            w.field("value", "running")
            w.endObject()
            w.endArray()
            w.endObject()
            w.endObject()
            w.endArray()
            w.endObject()
            w.endObject()
            w.key("responseElements")
            w.beginObject()
            w.field("requestId", requestID)
            w.key("reservationSet")
            w.beginObject()
            w.key("items")
            w.beginArray()
            w.beginObject()
            w.field("reservationId", reservation)
            w.field("ownerId", owner)
            w.key("groupSet")
            w.beginObject()
            w.endObject()
            w.key("instancesSet")
            w.beginObject()
            w.key("items")
            w.beginArray()
            for (index, instance) in instances.enumerated() {
                w.beginObject()
                w.field("instanceId", instance.id)
                w.field("imageId", instance.image)
                w.key("instanceState")
                w.beginObject()
                w.field("code", 16)
                w.field("name", "running")
                w.endObject()
                w.field("privateDnsName", "ip-" + instance.ip.replacingDots() + ".ec2.internal")
                w.field("dnsName", "")
                w.field("amiLaunchIndex", index)
                w.key("productCodes")
                w.beginObject()
                w.endObject()
                w.field("instanceType", "m6i.large")
                w.field("launchTime", Int(instance.launch))
                w.key("placement")
                w.beginObject()
                w.field("availabilityZone", zone)
                w.field("tenancy", "default")
                w.endObject()
                w.key("monitoring")
                w.beginObject()
                w.field("state", "disabled")
                w.endObject()
                w.field("subnetId", instance.subnet)
                w.field("vpcId", instance.vpc)
                w.field("privateIpAddress", instance.ip)
                w.key("groupSet")
                w.beginObject()
                w.key("items")
                w.beginArray()
                w.beginObject()
                w.field("groupId", "sg-0" + instance.image.suffix(16))
                w.field("groupName", "default")
                w.endObject()
                w.endArray()
                w.endObject()
                w.field("architecture", "x86_64")
                w.field("rootDeviceType", "ebs")
                w.field("rootDeviceName", "/dev/xvda")
                w.key("blockDeviceMapping")
                w.beginObject()
                w.key("items")
                w.beginArray()
                w.beginObject()
                w.field("deviceName", "/dev/xvda")
                w.key("ebs")
                w.beginObject()
                w.field("volumeId", instance.volume)
                w.field("status", "attached")
                w.field("attachTime", Int(instance.launch))
                w.field("deleteOnTermination", true)
                w.endObject()
                w.endObject()
                w.endArray()
                w.endObject()
                w.field("virtualizationType", "hvm")
                w.key("tagSet")
                w.beginObject()
                w.key("items")
                w.beginArray()
                w.beginObject()
                w.field("key", "Name")
                w.field("value", instance.name)
                w.endObject()
                w.beginObject()
                w.field("key", "owner")
                w.field("value", "チーム・インフラ")
                w.endObject()
                w.endArray()
                w.endObject()
                w.field("hypervisor", "xen")
                w.key("networkInterfaceSet")
                w.beginObject()
                w.key("items")
                w.beginArray()
                w.beginObject()
                w.field("networkInterfaceId", "eni-0" + instance.volume.suffix(16))
                w.field("subnetId", instance.subnet)
                w.field("vpcId", instance.vpc)
                w.field("ownerId", owner)
                w.field("status", "in-use")
                w.field("privateIpAddress", instance.ip)
                w.field("sourceDestCheck", true)
                w.endObject()
                w.endArray()
                w.endObject()
                w.field("ebsOptimized", true)
                w.field("enaSupport", true)
                w.key("metadataOptions")
                w.beginObject()
                w.field("state", "applied")
                w.field("httpTokens", "required")
                w.field("httpPutResponseHopLimit", 2)
                w.field("httpEndpoint", "enabled")
                w.endObject()
                w.endObject()
            }
            w.endArray()
            w.endObject()
            w.endObject()
            w.endArray()
            w.endObject()
            w.endObject()
        }
    }

    /// CreateTags with Japanese text and emoji in the values.
    func createTags(_ place: StreamPlace, at time: Int64) {
        let identity = ids.randomCaller(place.account, at: time, rng: &rng)
        var envelope = plainEnvelope("ec2.amazonaws.com", "CreateTags", place, at: time, identity: identity, readOnly: false)
        envelope.tlsHost = "ec2.\(place.region.name).amazonaws.com"
        let resource = rng.pick(place.region.instances)
        let tags: [(String, String)] = [
            ("Name", rng.pick(Self.instanceNames)),
            ("コストセンター", "開発部 🧪"),
            ("Owner", rng.pick(["山田 太郎", "Zoë Ångström", "o'neil", "tab\tseparated"])),
        ]
        let requestID = rng.uuid()
        emit(envelope) { w in
            w.key("requestParameters")
            w.beginObject()
            w.key("resourcesSet")
            w.beginObject()
            w.key("items")
            w.beginArray()
            w.beginObject()
            w.field("resourceId", resource)
            w.endObject()
            w.endArray()
            w.endObject()
            w.key("tagSet")
            w.beginObject()
            w.key("items")
            w.beginArray()
            for (k, v) in tags {
                w.beginObject()
                w.field("key", k)
                w.field("value", v)
                w.endObject()
            }
            w.endArray()
            w.endObject()
            w.endObject()
            w.key("responseElements")
            w.beginObject()
            w.field("requestId", requestID)
            w.field("_return", true)
            w.endObject()
        }
    }

    func describeVolumes(_ place: StreamPlace, at time: Int64) {
        let identity = ids.randomCaller(place.account, at: time, rng: &rng)
        var envelope = plainEnvelope("ec2.amazonaws.com", "DescribeVolumes", place, at: time, identity: identity, readOnly: true)
        envelope.tlsHost = "ec2.\(place.region.name).amazonaws.com"
        let volume = rng.pick(place.region.volumes)
        emit(envelope) { w in
            w.key("requestParameters")
            w.beginObject()
            w.key("volumeSet")
            w.beginObject()
            w.key("items")
            w.beginArray()
            w.beginObject()
            w.field("volumeId", volume)
            w.endObject()
            w.endArray()
            w.endObject()
            w.endObject()
            w.nullField("responseElements")
        }
    }

    /// An EC2 service event written with no userIdentity at all.
    func snapshotServiceEvent(_ place: StreamPlace, at time: Int64) {
        var envelope = plainEnvelope("ec2.amazonaws.com", "SharedSnapshotVolumeCreated", place, at: time, identity: nil, readOnly: false)
        envelope.sourceIP = "ec2.amazonaws.com"
        envelope.userAgent = "ec2.amazonaws.com"
        envelope.eventType = "AwsServiceEvent"
        envelope.serviceEventDetails = [("snapshotId", "snap-0" + rng.hex(16)), ("volumeId", rng.pick(place.region.volumes))]
        emit(envelope) { w in
            w.nullField("requestParameters")
            w.nullField("responseElements")
        }
    }
}

extension String {
    fileprivate func replacingDots() -> String {
        String(map { $0 == "." ? "-" : $0 })
    }
}
