import DZBundle
import DZSpool
import DZSystem
import Logging

/// An app's media directory on an appserver, `<appsRoot>/.media/<project>/`: where the app's uploads go
/// (`MEDIA_ROOT`, through `DZ_MEDIA_ROOT`, see `SettingsOverride`), outside every release, so that they survive
/// redeploys, rollbacks and `undeploy` (only `--drop-data` removes them, with `drop_media`).
///
/// Not inside the app's own directory (`<appsRoot>/<project>/`, mode 0750): nginx's workers must reach the media
/// and nothing else of the app (its code, settings, logs, SQLite database), and root must bind the directory into
/// the sandbox, which it must never do through a path the app can change. `<appsRoot>/.media` is root's (mode
/// 0711: anyone may pass, nobody may list it or add to it), so the app cannot replace its media directory with a
/// link; the sandbox binds it at its own path (the app's only writable directory besides its own).
///
/// The directory is the app's user's, its group nginx's worker group (`AppServerSettings.mediaGroup`, `www-data`),
/// mode 02750: the app writes, nginx reads (the set-group-id bit gives what the app creates there nginx's group,
/// and Django's default `FILE_UPLOAD_PERMISSIONS` 0644 makes it readable), and no other tenant can enter it. When
/// the host has no such group (or dz does not run as root), it is mode 0711 (0755 for dz's own user): nginx and
/// anyone else who knows a file's name can read it, as anyone can through the site. What the app may put there
/// (a link to its own code, to another app's files) is nginx's to refuse: the site serves it with
/// `disable_symlinks if_not_owner` (see `NginxSite`).
package struct MediaDirectory: Sendable {
    let settings: AppServerSettings
    let project: ProjectID

    package init(settings: AppServerSettings, project: ProjectID) {
        self.settings = settings
        self.project = project
    }

    package var path: String { settings.mediaDirectory(project.rawValue) }

    /// Creates or fixes `<mediaRoot>` and the app's media directory (owner, group and mode as above, reset at
    /// every deploy), never following a link; returns its path.
    @discardableResult
    package func prepare(user: AppUser) throws(DeployError) -> String {
        let root = Host.userID == 0
        do {
            let apps = try DirectoryHandle.open(settings.appsRoot)
            let media = try apps.makeDirectory(".media", mode: 0o711, owner: root ? (0, 0) : nil)
            let nginxGroup = Host.groupID(named: settings.mediaGroup)
            if user.switches, let nginxGroup {
                try media.makeDirectory(project.rawValue, mode: 0o2750, owner: (user.uid, nginxGroup))
            } else {
                try media.makeDirectory(project.rawValue, mode: user.switches ? 0o711 : 0o755, owner: user.owner)
            }
        } catch {
            throw .filesystem("prepare", path: path, error)
        }
        return path
    }

    /// Removes the app's media directory and everything in it; false when there was none (or another appserver
    /// sharing the media root removed it first). It is first renamed aside inside `<mediaRoot>` (which the app
    /// cannot write) and made root's with mode 0700, so that no app process can change what is below while root
    /// removes it.
    package func remove(logger: Logger) throws(DeployError) -> Bool {
        let media: DirectoryHandle
        do { media = try DirectoryHandle.open(settings.mediaRoot) } catch .noSuchFileOrDirectory {
            return false
        } catch {
            throw .filesystem("open", path: settings.mediaRoot, error)
        }
        guard media.entry(project.rawValue) != nil else { return false }
        let aside = ".removed-" + project.rawValue + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        do {
            try media.rename(project.rawValue, to: aside)
        } catch .noSuchFileOrDirectory {
            // Another appserver sharing the media root (see dz(1) Media) removed it first.
            return false
        } catch {
            throw .filesystem("remove", path: path, error)
        }
        do {
            try media.directory(aside).setOwner(Host.userID == 0 ? (0, 0) : nil, mode: 0o700)
        } catch {
            throw .filesystem("remove", path: path, error)
        }
        SourceTree.remove(settings.mediaRoot + "/" + aside)
        try? FileSystem.syncDirectory(settings.mediaRoot)
        logger.info("media directory removed", metadata: ["directory": "\(path)"])
        return true
    }
}
