/// The zoomdb's schema, as numbered migrations: `PRAGMA user_version` says how many have run.
/// Add a migration at the end; never edit one that has shipped.
enum ZoomSchema {
    static let migrations: [String] = [
        // 1: the tables of the original dz2_* schema, plus steps and appservers.
        """
        CREATE TABLE projects (
            id TEXT PRIMARY KEY,
            source_url TEXT,
            title TEXT,
            settings_module TEXT,
            base_package TEXT,
            python_path_dirs TEXT NOT NULL DEFAULT '[]',
            requirements_files TEXT NOT NULL DEFAULT '[]',
            python_version TEXT,
            django_version TEXT,
            database_type TEXT,
            num_workers INTEGER,
            hostname_slug TEXT,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            project TEXT,
            params TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL,
            stopping TEXT,
            issued_by TEXT,
            issued_at TEXT NOT NULL,
            started TEXT,
            finished TEXT,
            error TEXT,
            result TEXT
        );
        CREATE INDEX jobs_state ON jobs(state);
        CREATE TABLE steps (
            job TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            definition TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            queue TEXT NOT NULL,
            task TEXT NOT NULL,
            task_id TEXT NOT NULL UNIQUE,
            task_file TEXT NOT NULL,
            state TEXT NOT NULL,
            compensation INTEGER NOT NULL DEFAULT 0,
            attempt INTEGER,
            max_attempts INTEGER NOT NULL,
            host TEXT,
            dispatched TEXT,
            started TEXT,
            finished TEXT,
            deadline TEXT,
            output TEXT,
            error_kind TEXT,
            error TEXT,
            PRIMARY KEY (job, name)
        );
        CREATE INDEX steps_state ON steps(state);
        CREATE TABLE job_log (
            id INTEGER PRIMARY KEY,
            job TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
            ts TEXT NOT NULL,
            level TEXT NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX job_log_job ON job_log(job, id);
        CREATE TABLE config_guesses (
            id INTEGER PRIMARY KEY,
            project TEXT NOT NULL,
            field TEXT NOT NULL,
            value TEXT NOT NULL,
            is_primary INTEGER NOT NULL,
            basis TEXT
        );
        CREATE INDEX config_guesses_project ON config_guesses(project);
        CREATE TABLE bundles (
            id INTEGER PRIMARY KEY,
            project TEXT NOT NULL,
            name TEXT NOT NULL UNIQUE,
            code_revision TEXT,
            sha256 TEXT,
            size INTEGER,
            storage_url TEXT,
            created TEXT NOT NULL,
            deleted TEXT
        );
        CREATE TABLE deployments (
            id INTEGER PRIMARY KEY,
            project TEXT NOT NULL,
            bundle TEXT NOT NULL,
            appserver TEXT NOT NULL,
            host TEXT,
            port INTEGER,
            created TEXT NOT NULL,
            deactivated TEXT
        );
        CREATE TABLE app_databases (
            project TEXT PRIMARY KEY,
            engine TEXT NOT NULL,
            host TEXT,
            port INTEGER,
            name TEXT NOT NULL,
            user TEXT,
            password TEXT
        );
        CREATE TABLE virtual_hostnames (
            id INTEGER PRIMARY KEY,
            project TEXT NOT NULL,
            hostname TEXT NOT NULL UNIQUE,
            is_wildcard INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE appservers (
            host_id TEXT PRIMARY KEY,
            address TEXT,
            last_heartbeat TEXT,
            load REAL
        );
        """,
        // 2: what deploys need: an instance id and the job that made each deployment, the app's secret key.
        """
        ALTER TABLE deployments ADD COLUMN instance TEXT;
        ALTER TABLE deployments ADD COLUMN job TEXT;
        ALTER TABLE deployments ADD COLUMN user TEXT;
        CREATE UNIQUE INDEX deployments_instance ON deployments(instance);
        CREATE INDEX deployments_project ON deployments(project, deactivated);
        ALTER TABLE projects ADD COLUMN secret_key TEXT;
        """,
        // 3: the app's life after its first deploy: releases (what each deploy put live, so that a rollback or a
        //    restart can redeploy it without building), the app's environment (`dz config`), and the wanted
        //    formation (instances, workers: `dz scale`).
        """
        CREATE TABLE releases (
            id INTEGER PRIMARY KEY,
            project TEXT NOT NULL,
            number INTEGER NOT NULL,
            kind TEXT NOT NULL,
            description TEXT,
            bundle TEXT NOT NULL,
            sha256 TEXT,
            revision TEXT,
            wsgi TEXT NOT NULL,
            static TEXT NOT NULL DEFAULT '[]',
            hostnames TEXT NOT NULL DEFAULT '[]',
            config_version INTEGER NOT NULL DEFAULT 0,
            instances INTEGER,
            workers INTEGER,
            client_max_body_size TEXT,
            result TEXT NOT NULL,
            job TEXT UNIQUE,
            issued_by TEXT,
            created TEXT NOT NULL,
            UNIQUE (project, number)
        );
        CREATE TABLE app_environment (
            project TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (project, name)
        );
        ALTER TABLE projects ADD COLUMN config_version INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE projects ADD COLUMN instances INTEGER;
        ALTER TABLE projects ADD COLUMN workers INTEGER;
        """,
        // 4: facts about the zoomdb itself (the spool it belongs to).
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
        // 5: host names a running job is putting live, claimed when its placement succeeds (`claimHostnames`), so
        //    that two projects adding one name at once cannot both get it; released when the job ends.
        """
        CREATE TABLE hostname_claims (
            hostname TEXT PRIMARY KEY,
            project TEXT NOT NULL,
            job TEXT NOT NULL,
            created TEXT NOT NULL
        );
        CREATE INDEX hostname_claims_job ON hostname_claims(job);
        """,
        // 6: app identities and limits. Each project's unix user on the appservers (name and uid), allocated once
        //    here so that no two projects (and no two deploy steps) ever pick one apart; and the per-app limits
        //    (memory, processes, CPU weight) its releases set.
        """
        CREATE TABLE app_users (
            project TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            uid INTEGER NOT NULL UNIQUE,
            created TEXT NOT NULL
        );
        ALTER TABLE projects ADD COLUMN limits TEXT;
        """,
    ]
}
