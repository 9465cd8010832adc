import Logging

/// Sends the daemons' logs to standard error at `level` (journald picks them up). Called once per process.
func bootstrapLogging(_ level: Logger.Level) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
