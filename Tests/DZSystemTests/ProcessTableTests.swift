import DZSystem
import Testing

@Suite struct ProcessTableTests {
    @Test func thisProcessIsListedWithItsIdsAndCommandLine() throws {
        let pid = Host.pid
        #expect(ProcessTable.pids().contains(pid))
        let status = try #require(ProcessTable.status(of: pid))
        #expect(status.realUID == Host.userID && status.isRunning)
        #expect(!ProcessTable.commandLine(of: pid).isEmpty)
        #expect(try ProcessTable.ownExecutable().hasPrefix("/"))
    }

    @Test func statusTextIsReadByItsFieldsAndWithoutUidsIsNothing() {
        let text = "Name:\tsleep\nState:\tZ (zombie)\nPPid:\t42\nUid:\t1000\t1001\t1001\t1001\n"
        #expect(ProcessTable.Status(text: text)
            == ProcessTable.Status(realUID: 1000, effectiveUID: 1001, parent: 42, state: "Z"))
        #expect(ProcessTable.Status(text: text)?.isRunning == false)
        #expect(ProcessTable.Status(text: "Name:\tx\nState:\tR\n") == nil)
    }

    @Test func aPidThatCannotExistHasNoStatusAndNoCommandLine() {
        #expect(ProcessTable.status(of: 0) == nil && ProcessTable.status(of: -1) == nil)
        #expect(ProcessTable.commandLine(of: 0).isEmpty)
    }
}
