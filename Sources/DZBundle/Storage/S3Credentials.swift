/// An access key for S3's SigV4 signing. Printing or dumping it never shows the secret or the session token.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Set for temporary credentials (STS); sent as `x-amz-security-token`.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// The credentials in the standard variables `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN`, or nil when the first two are not both set.
    public static func fromEnvironment(_ environment: [String: String]) -> S3Credentials? {
        guard let id = nonEmpty(environment["AWS_ACCESS_KEY_ID"]),
              let secret = nonEmpty(environment["AWS_SECRET_ACCESS_KEY"])
        else { return nil }
        return S3Credentials(accessKeyID: id, secretAccessKey: secret,
                             sessionToken: nonEmpty(environment["AWS_SESSION_TOKEN"]))
    }

    public var description: String {
        "S3Credentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>"
            + (sessionToken == nil ? ")" : ", sessionToken: <redacted>)")
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyID": accessKeyID, "secretAccessKey": "<redacted>",
                                "sessionToken": sessionToken == nil ? "none" : "<redacted>"])
    }
}

func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
}
