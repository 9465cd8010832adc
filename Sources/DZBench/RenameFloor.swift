import DZSpool
import DZSystem

/// The file operations of one round trip and nothing else, in one loop of one process: what the file system
/// itself allows, measured on the same disk right before each agent run, so that dz's figures can be read as a
/// share of it (disks shared with other machines vary several-fold from minute to minute).
///
/// Per task: write a file in `tmp/` and rename it into `new/`; rename it into `cur/` (the claim); read it; write
/// a result in the reply queue's `tmp/` and rename it into its `new/`; rename the task into `done/`; with
/// `takesResults`, the coordinator's side too: rename the result into `cur/`, read it, rename it into `done/`. With
/// `fsync`, each written file and each directory a rename went into are synced, as dz does at its commit points.
/// No JSON, no audit log, no leases, no inotify, no zoomdb.
struct RenameFloor {
    let directory: String
    let tasks: Int
    let fsync: Bool
    var takesResults = false

    /// Round trips per second.
    func run() throws(Errno) -> Double {
        let queue = directory + "/q", results = directory + "/results"
        let directories = [queue + "/tmp", queue + "/new", queue + "/cur", queue + "/done", results + "/tmp",
                           results + "/new", results + "/cur", results + "/done"]
        for dir in directories {
            try FileSystem.makeDirectories(dir)
        }
        let task = Array(#"{"id":"t","task":"noop","args":{},"attempt":1,"max_attempts":3,"reply_to":"results"}"#.utf8)
        let result = Array(#"{"id":"t","task":"noop","status":"ok","output":{},"error":null,"attempt":1}"#.utf8)
        let start = Timestamp.now()
        for index in 0..<tasks {
            let name = "t\(index)"
            try FileIO.create(queue + "/tmp/" + name, bytes: task, sync: fsync)
            try FileSystem.rename(queue + "/tmp/" + name, queue + "/new/" + name + ".json")
            if fsync { try FileSystem.syncDirectory(queue + "/new") }
            let claim = queue + "/cur/" + name + "@floor@1@30@1.json"
            try FileSystem.rename(queue + "/new/" + name + ".json", claim)
            _ = try FileIO.read(claim, limit: TaskFile.maxSize)
            try FileIO.create(results + "/tmp/" + name, bytes: result, sync: fsync)
            try FileSystem.rename(results + "/tmp/" + name, results + "/new/" + name + ".json")
            if fsync { try FileSystem.syncDirectory(results + "/new") }
            try FileSystem.rename(claim, queue + "/done/" + name + ".json")
            if fsync { try FileSystem.syncDirectory(queue + "/done") }
            guard takesResults else { continue }
            let taken = results + "/cur/" + name + ".json"
            try FileSystem.rename(results + "/new/" + name + ".json", taken)
            _ = try FileIO.read(taken, limit: TaskFile.maxSize)
            try FileSystem.rename(taken, results + "/done/" + name + ".json")
            if fsync { try FileSystem.syncDirectory(results + "/done") }
        }
        return Double(tasks) / (Timestamp.now() - start)
    }
}
