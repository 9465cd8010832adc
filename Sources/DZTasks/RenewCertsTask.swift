import DZJSON

/// `renew_certs` (queue `proxy`): renew the ACME certificates of the proxy that expire soon. Sent by
/// `dz certs renew` (daily, from cron or a timer), run by `RenewCertsHandler`.
public enum RenewCertsTask: TaskContract {
    public static let name = "renew_certs"

    public struct Arguments: TaskMessage, Equatable {
        /// Renew what expires within this many days: 0 to 3,650.
        public var days: Double

        public init(days: Double = 30) {
            self.days = days
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            days = try MessageReader(object).number("days") ?? 30
            guard (0...3650).contains(days) else { throw ContractViolation("days must be from 0 to 3650") }
        }

        public var json: [String: JSONValue] {
            ["days": days.rounded() == days ? .int(Int64(days)) : .double(days)]
        }

        public static let keys = ["days"]
    }

    public struct Output: TaskMessage, Equatable {
        /// The ACME certificates looked at.
        public var checked: Int
        /// `project/hostname` of each renewed.
        public var renewed: [String]

        public init(checked: Int, renewed: [String]) {
            self.checked = checked
            self.renewed = renewed
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            checked = try read.count("checked", in: 0...Int.max) ?? 0
            renewed = (try read.array("renewed") ?? []).compactMap(\.stringValue)
        }

        public var json: [String: JSONValue] {
            ["checked": .int(Int64(checked)), "renewed": .array(renewed.map { .string($0) })]
        }

        public static let keys = ["checked", "renewed"]
    }
}
