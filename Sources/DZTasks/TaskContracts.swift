/// The tasks with a typed contract (the other handlers still read their arguments by key).
public enum TaskContracts {
    public static let all: [any TaskContract.Type] = [
        BuildBundleTask.self, BundleUploadTask.self, CheckPlacementTask.self, CreateDatabaseTask.self,
        DeleteVersionsTask.self, DeployTask.self, DropDatabaseTask.self, DropMediaTask.self, HealthCheckTask.self,
        PlacementTask.self, PostDeployHooksTask.self, ProxyUpdateTask.self, RemoveProxyConfTask.self,
        ScaleWorkersTask.self, StopInstancesTask.self,
    ]
}
