import DZSpool
import Logging

/// Sends the daemons' logs to standard error at `level`, as logfmt lines (journald picks them up, with their
/// priorities). Called once per process.
func bootstrapLogging(_ level: Logger.Level) {
    LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, level: level) }
}
