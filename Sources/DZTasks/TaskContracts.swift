/// Every work task's contract (the agent's own noop, echo, sleep and fail read their few arguments in DZAgent).
public enum TaskContracts {
    public static let all: [any TaskContract.Type] = [
        BuildBundleTask.self, BundleUploadTask.self, CheckPlacementTask.self, CheckRepoTask.self,
        CreateDatabaseTask.self, DeleteVersionsTask.self, DeployTask.self, DropDatabaseTask.self, DropMediaTask.self,
        HealthCheckTask.self, InstallCertTask.self, ManagePyTask.self, ObtainCertTask.self, PlacementTask.self,
        PostDeployHooksTask.self, ProxyUpdateTask.self, ReadLogsTask.self, RemoveProxyConfTask.self,
        RenewCertsTask.self, ScaleWorkersTask.self, StageStaticTask.self, StopInstancesTask.self, UnstageStaticTask.self,
    ]
}
