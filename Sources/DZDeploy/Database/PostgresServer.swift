/// The PostgreSQL server that holds the apps' databases, as the database host's agent reaches it as a superuser,
/// and as the apps reach it.
///
/// The admin password, if the server wants one, is read by psql itself from `adminPassfile`, a libpq password file
/// (`host:port:database:user:password` lines, mode 0600 or stricter, which libpq insists on): dz never holds it,
/// never puts it on a command line, and never passes `PGPASSWORD` on. `PGPASSWORD` in the agent's environment is
/// deliberately not used: the agent also runs builds that execute project code, and every child would inherit it.
/// Without a passfile psql uses `~/.pgpass` of the agent's user, or no password (peer or trust authentication).
public struct PostgresServer: Sendable, Equatable {
    /// Host name, address, or socket directory (starting with `/`) of the admin connection.
    public var adminHost: String
    public var adminPort: Int
    /// A superuser (or a role with CREATEROLE and CREATEDB that can also create extensions).
    public var adminUser: String
    /// A libpq password file for the admin connection, mode 0600; nil for none.
    public var adminPassfile: String?
    /// The database the admin connection starts in.
    public var maintenanceDatabase: String
    /// The host and port given to apps (the admin connection may go through a socket or a private address).
    public var appHost: String
    public var appPort: Int
    /// The psql program: a path, or a name looked up on PATH and then in `/usr/lib/postgresql/*/bin`.
    public var psql: String
    /// Time limit of one psql run, in seconds.
    public var timeout: Double

    public init(adminHost: String = "127.0.0.1", adminPort: Int = 5432, adminUser: String = "postgres",
                adminPassfile: String? = nil, maintenanceDatabase: String = "postgres", appHost: String? = nil,
                appPort: Int? = nil, psql: String = "psql", timeout: Double = 120)
    {
        self.adminHost = adminHost
        self.adminPort = adminPort
        self.adminUser = adminUser
        self.adminPassfile = adminPassfile
        self.maintenanceDatabase = maintenanceDatabase
        // A socket directory means nothing to an app on another host: fall back to the local address.
        self.appHost = appHost ?? (adminHost.hasPrefix("/") ? "127.0.0.1" : adminHost)
        self.appPort = appPort ?? adminPort
        self.psql = psql
        self.timeout = timeout
    }

    /// `host:port`, for messages.
    public var adminAddress: String { "\(adminHost):\(adminPort)" }
}
