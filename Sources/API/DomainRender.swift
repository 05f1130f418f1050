package import ClusterState
package import HTTP
import Orchestration

/// Renders domain results and queries in ECS's response shapes. Pure.
package enum DomainRender {
    /// A task definition as ECS returns it: the registered fields plus ARN, revision, status and times.
    struct TaskDefinitionView: Encodable {
        var record: TaskDefinitionRecord

        enum Keys: String, CodingKey {
            case taskDefinitionArn, revision, status, registeredAt, deregisteredAt
        }

        func encode(to encoder: any Encoder) throws {
            try record.spec.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(record.taskDefinitionArn, forKey: .taskDefinitionArn)
            try container.encode(record.revision, forKey: .revision)
            try container.encode(record.status, forKey: .status)
            try container.encode(record.registeredAt, forKey: .registeredAt)
            try container.encodeIfPresent(record.deregisteredAt, forKey: .deregisteredAt)
        }
    }

    /// A container instance as the API shows it: every field but the agent's credential, which no view of an
    /// instance carries (only the registration's answer does, beside the instance).
    struct InstanceView: Encodable {
        var instance: ContainerInstance

        func encode(to encoder: any Encoder) throws {
            var shown = instance
            shown.agentCredential = nil
            try shown.encode(to: encoder)
        }
    }

    /// The answer to a registration: the instance and, beside it, the agent's credential (the only answer that
    /// carries it; a retry with the same client token gets the same one).
    struct Registered: Encodable {
        var containerInstance: InstanceView
        var agentCredential: String?
    }

    /// The answer to a domain write applied at `index`.
    package static func result(_ result: DomainResult, index: UInt64) -> HTTPResponse {
        switch result {
        case .cluster(let cluster), .clusterDeleted(let cluster):
            return JSON.response(["cluster": cluster])
        case .taskDefinition(let record):
            return JSON.response(["taskDefinition": TaskDefinitionView(record: record)])
        case .containerInstance(let instance):
            return JSON.response(["containerInstance": InstanceView(instance: instance)])
        case .instanceRegistered(let instance):
            return JSON.response(
                Registered(
                    containerInstance: InstanceView(instance: instance),
                    agentCredential: instance.agentCredential
                )
            )
        case .attributes(let attributes):
            return JSON.response(["attributes": attributes])
        case .tags(let tags):
            return JSON.response(["tags": tags])
        case .service(let service):
            return JSON.response(["service": service])
        case .tasks(let tasks):
            return JSON.response(["tasks": tasks])
        case .pruned(let count):
            return JSON.response(["pruned": count])
        case .placements(let outcome):
            return JSON.response(outcome)
        case .refused(let status, let code, let message, let field):
            return APIError(status: status, code: code, message: message, field: field).response
        }
    }

    /// The answer to a domain read.
    package static func query(_ query: DomainQuery, in domain: Domain) -> HTTPResponse {
        switch query {
        case .listClusters(let page):
            struct List: Encodable {
                var clusterArns: [String]
                var clusters: [Cluster]
                var nextToken: String?
            }
            let (names, next) = page.slice(domain.clusters.keys.sorted())
            let clusters = names.map { domain.clusters[$0]! }
            return JSON.response(List(clusterArns: clusters.map(\.clusterArn), clusters: clusters, nextToken: next))
        case .describeCluster(let reference):
            let name = reference.hasPrefix("arn:") ? String(reference.split(separator: "/").last ?? "") : reference
            guard let cluster = domain.clusters[name] else {
                return APIError(status: 404, code: "cluster_not_found", message: "cluster \(reference) does not exist")
                    .response
            }
            return JSON.response(["cluster": cluster])
        case .listTags(let arn):
            guard let tags = domain.tags(of: arn) else {
                return APIError(
                    status: 404,
                    code: "resource_not_found",
                    message: "no cluster, service or task definition has the ARN \(arn)",
                    field: "resourceArn"
                ).response
            }
            return JSON.response(["tags": tags])
        case .listTaskDefinitions(let prefix, let status, let descending, let page):
            struct List: Encodable {
                var taskDefinitionArns: [String]
                var nextToken: String?
            }
            var records: [TaskDefinitionRecord] = []
            for (name, family) in domain.families where prefix.map({ name.hasPrefix($0) }) ?? true {
                records += family.revisions.values.filter { status == nil || $0.status == status }
            }
            // Keys sort as family then zero-padded revision, so pages are stable.
            func key(_ record: TaskDefinitionRecord) -> String {
                let digits = String(record.revision)
                return record.family + ":" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
            }
            let byKey = Dictionary(uniqueKeysWithValues: records.map { (key($0), $0) })
            var keys = byKey.keys.sorted()
            if descending { keys.reverse() }
            let (pageKeys, next) = descending ? pageDescending(keys, page) : page.slice(keys)
            return JSON.response(
                List(taskDefinitionArns: pageKeys.map { byKey[$0]!.taskDefinitionArn }, nextToken: next)
            )
        case .describeTaskDefinition(let reference):
            guard let record = domain.taskDefinition(reference) else {
                return APIError(
                    status: 404,
                    code: "task_definition_not_found",
                    message:
                        "task definition \(reference) does not exist (a family alone means its latest ACTIVE revision)"
                ).response
            }
            return JSON.response(["taskDefinition": TaskDefinitionView(record: record)])
        case .listTaskDefinitionFamilies(let prefix, let status, let page):
            struct List: Encodable {
                var families: [String]
                var nextToken: String?
            }
            let names = domain.families.values.filter { family in
                guard prefix.map({ family.name.hasPrefix($0) }) ?? true else { return false }
                switch status {
                case "ACTIVE": return family.latestActive != nil
                case "INACTIVE": return family.latestActive == nil
                default: return true
                }
            }.map(\.name).sorted()
            let (pageNames, next) = page.slice(names)
            return JSON.response(List(families: pageNames, nextToken: next))
        case .listContainerInstances, .describeContainerInstance, .instanceTasks, .listAttributes:
            return instanceQuery(query, in: domain)
        case .listServices, .describeService, .explainService, .listTasks, .describeTask:
            return workloadQuery(query, in: domain)
        }
    }

    /// 404 for an instance that is not registered in the cluster.
    package static func instanceNotFound(_ id: String, _ cluster: String) -> HTTPResponse {
        APIError(
            status: 404,
            code: "container_instance_not_found",
            message: "container instance \(id) is not registered in cluster \(cluster)"
        ).response
    }

    /// The container-instance and attribute reads.
    static func instanceQuery(_ query: DomainQuery, in domain: Domain) -> HTTPResponse {
        switch query {
        case .listContainerInstances(let cluster, let status, let page):
            guard domain.clusters[cluster] != nil else { return clusterNotFound(cluster) }
            struct List: Encodable {
                var containerInstanceArns: [String]
                var containerInstances: [InstanceView]
                var nextToken: String?
            }
            let ids = domain.instances.values.filter { instance in
                instance.cluster == cluster && (status.map { instance.status == $0 } ?? (instance.status != "INACTIVE"))
            }.map(\.id).sorted()
            let (pageIDs, next) = page.slice(ids)
            let instances = pageIDs.map { domain.instances[$0]! }
            return JSON.response(
                List(
                    containerInstanceArns: instances.map(\.containerInstanceArn),
                    containerInstances: instances.map { InstanceView(instance: $0) },
                    nextToken: next
                )
            )
        case .describeContainerInstance(let cluster, let id):
            guard let instance = domain.instance(id, in: cluster) else { return instanceNotFound(id, cluster) }
            return JSON.response(["containerInstance": InstanceView(instance: instance)])
        case .instanceTasks(let cluster, let id, let lastStatus):
            guard let instance = domain.instance(id, in: cluster) else { return instanceNotFound(id, cluster) }
            return JSON.response([
                "tasks": domain.tasks(onInstance: instance.id).filter {
                    $0.lastStatus != "STOPPED" && (lastStatus == nil || $0.lastStatus == lastStatus)
                }
            ])
        case .listAttributes(let cluster, let name, let value):
            guard domain.clusters[cluster] != nil else { return clusterNotFound(cluster) }
            var attributes: [Attribute] = []
            for instance in domain.instances.values.sorted(by: { $0.id < $1.id })
            where instance.cluster == cluster && instance.status != "INACTIVE" {
                for attribute in instance.attributes
                where (name.map { attribute.name == $0 } ?? true) && (value.map { attribute.value == $0 } ?? true) {
                    attributes.append(
                        Attribute(
                            name: attribute.name,
                            value: attribute.value,
                            targetType: "container-instance",
                            targetId: instance.containerInstanceArn
                        )
                    )
                }
            }
            return JSON.response(["attributes": attributes])
        default:
            preconditionFailure("instanceQuery called with \(query)")
        }
    }

    /// The service and task reads.
    static func workloadQuery(_ query: DomainQuery, in domain: Domain) -> HTTPResponse {
        switch query {
        case .listServices(let cluster, let page):
            guard let clusterArn = domain.clusters[cluster]?.clusterArn else { return clusterNotFound(cluster) }
            struct List: Encodable {
                var serviceArns: [String]
                var services: [Service]
                var nextToken: String?
            }
            let keys = domain.services.filter { $0.value.clusterArn == clusterArn && $0.value.status != "INACTIVE" }
                .keys.sorted()
            let (pageKeys, next) = page.slice(keys)
            let services = pageKeys.map { domain.services[$0]! }
            return JSON.response(List(serviceArns: services.map(\.serviceArn), services: services, nextToken: next))
        case .describeService(let cluster, let name):
            guard domain.clusters[cluster] != nil else { return clusterNotFound(cluster) }
            let key =
                name.hasPrefix("arn:")
                ? name.split(separator: "/").suffix(2).joined(separator: "/") : "\(cluster)/\(name)"
            guard let service = domain.services[key] else {
                return APIError(
                    status: 404,
                    code: "service_not_found",
                    message: "service \(name) does not exist in cluster \(cluster)"
                )
                .response
            }
            return JSON.response(["service": service])
        case .explainService(let cluster, let name):
            guard domain.clusters[cluster] != nil else { return clusterNotFound(cluster) }
            guard let service = domain.liveService(name, in: cluster) else {
                return APIError(
                    status: 404,
                    code: "service_not_found",
                    message: "service \(name) does not exist in cluster \(cluster)"
                )
                .response
            }
            // A fixed seed: the same state explains the same way on every controller and every call.
            guard let explanation = Orchestrator.explain(domain, cluster: cluster, service: name, seed: 0) else {
                return APIError(
                    status: 404,
                    code: "task_definition_not_found",
                    message:
                        "service \(service.serviceName)'s task definition \(service.taskDefinition) no longer exists"
                )
                .response
            }
            return JSON.response(["explanation": explanation])
        case .listTasks(let cluster, let filter, let page):
            guard domain.clusters[cluster] != nil else { return clusterNotFound(cluster) }
            struct List: Encodable {
                var taskArns: [String]
                var nextToken: String?
            }
            let instanceID = filter.containerInstance.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
            let ids = domain.tasks.values.filter { task in
                guard task.cluster == cluster else { return false }
                if let name = filter.serviceName, task.group != "service:\(name)" { return false }
                if let family = filter.family,
                    task.taskDefinitionArn.split(separator: "/").last?.split(separator: ":").first.map(String.init)
                        != family
                {
                    return false
                }
                if let instanceID, task.containerInstanceArn.map({ $0.hasSuffix("/\(instanceID)") }) != true {
                    return false
                }
                if let status = filter.desiredStatus, task.desiredStatus != status { return false }
                if let startedBy = filter.startedBy, task.startedBy != startedBy { return false }
                return true
            }.map(\.id).sorted()
            let (pageIDs, next) = page.slice(ids)
            return JSON.response(List(taskArns: pageIDs.map { domain.tasks[$0]!.taskArn }, nextToken: next))
        case .describeTask(let cluster, let reference):
            guard domain.clusters[cluster] != nil else { return clusterNotFound(cluster) }
            guard let task = domain.task(reference, in: cluster) else {
                return APIError(
                    status: 404,
                    code: "task_not_found",
                    message: "task \(reference) does not exist in cluster \(cluster)"
                )
                .response
            }
            return JSON.response(["task": task])
        default:
            preconditionFailure("workloadQuery called with \(query)")
        }
    }

    static func clusterNotFound(_ cluster: String) -> HTTPResponse {
        APIError(status: 404, code: "cluster_not_found", message: "cluster \(cluster) does not exist").response
    }

    /// `Page.slice` over keys sorted descending.
    static func pageDescending(_ keys: [String], _ page: Page) -> ([String], String?) {
        var remaining = keys[...]
        if let token = page.nextToken, let after = Page.decodeToken(token) {
            remaining = keys[(keys.firstIndex { $0 < after } ?? keys.endIndex)...]
        }
        let slice = Array(remaining.prefix(page.maxResults))
        let next = remaining.count > page.maxResults ? slice.last.map(Page.encodeToken) : nil
        return (slice, next)
    }
}
