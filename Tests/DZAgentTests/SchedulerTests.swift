@testable import DZAgent
import DZSpool
import DZSystem
import Synchronization
import Testing

@Suite struct SchedulerTests {
    let build = try! QueueName("build")
    let proxy = try! QueueName("proxy")

    @Test func firstInFirstOutByNameWithinAQueue() async {
        let scheduler = Scheduler(queues: [build])
        await scheduler.add(build, ["c.json", "a.json", "b.json", "a.json"])
        var names: [String] = []
        for _ in 0..<3 { names.append(await scheduler.next()!.name) }
        #expect(names == ["a.json", "b.json", "c.json"])
        #expect(await scheduler.isEmpty)
    }

    @Test func aWaitingWorkerGetsTheFirstNameOfABatchByNameNotByListing() async {
        let scheduler = Scheduler(queues: [build])
        async let first = scheduler.next()
        // The worker waits before the batch comes (a listing, in directory order).
        while await scheduler.waiterCount == 0 { await Task.yield() }
        await scheduler.add(build, ["c.json", "a.json", "b.json"])
        #expect(await first?.name == "a.json")
        #expect(await scheduler.next()?.name == "b.json")
    }

    @Test func givingUpTheTurnForgetsTheQueuesWaitingNamesNotOtherQueues() async {
        let scheduler = Scheduler(queues: [build, proxy], takingTurns: true)
        await scheduler.listen(build, true)
        await scheduler.listen(proxy, true)
        await scheduler.add(build, ["a.json", "b.json", "c.json"])
        await scheduler.add(proxy, ["p.json"])
        let inHand = await scheduler.next()
        #expect(inHand?.name == "a.json")
        await scheduler.listen(build, false)
        #expect(await scheduler.count == 1)
        #expect(await scheduler.next()?.name == "p.json")
        // The name in hand is still this agent's to finish.
        await scheduler.finished(inHand!)
        #expect(await scheduler.isEmpty)
    }

    @Test func withoutTheTurnARescanLinesUpOnlyWhatThePreviousRescanFoundToo() async {
        let scheduler = Scheduler(queues: [build], takingTurns: true)
        await scheduler.addRescanned(build, ["a.json", "b.json"])
        #expect(await scheduler.isEmpty)
        await scheduler.addRescanned(build, ["b.json", "c.json"])
        #expect(await scheduler.count == 1)
        #expect(await scheduler.next()?.name == "b.json")
        // Holding the turn, a rescan lines up everything.
        await scheduler.listen(build, true)
        await scheduler.addRescanned(build, ["d.json", "e.json"])
        #expect(await scheduler.count == 2)
    }

    @Test func anAgentThatTakesNoTurnsListensToEveryQueue() async {
        let scheduler = Scheduler(queues: [build])
        await scheduler.addRescanned(build, ["a.json"])
        #expect(await scheduler.next()?.name == "a.json")
    }

    @Test func queuesTakeTurns() async {
        let scheduler = Scheduler(queues: [build, proxy])
        await scheduler.add(build, ["1.json", "2.json"])
        await scheduler.add(proxy, ["3.json", "4.json"])
        var queues: [String] = []
        for _ in 0..<4 { queues.append(await scheduler.next()!.queue.rawValue) }
        #expect(queues == ["build", "proxy", "build", "proxy"])
    }

    @Test func ignoresNamesThatAreNotTasks() async {
        let scheduler = Scheduler(queues: [build])
        await scheduler.add(build, [".hidden.json", "x.txt", ".nfs0001"])
        #expect(await scheduler.isEmpty)
    }

    @Test func postponedNameWaitsForItsTime() async {
        let scheduler = Scheduler(queues: [build])
        let item = Scheduler.Item(queue: build, name: "later.json")
        await scheduler.postpone(item, until: .now() + 3600)
        await scheduler.add(build, "later.json")
        #expect(await scheduler.isEmpty)
        #expect(await scheduler.promoteDue() != nil)
        _ = await scheduler.promoteDue(now: .now() + 7200)
        #expect(await scheduler.count == 1)
    }

    @Test func halfCopiedFileComesBackAsSoonAsItChanges() async {
        let size = Mutex<Int64>(10)
        let scheduler = Scheduler(queues: [build]) { _ in
            FileFingerprint(size: size.withLock { $0 }, modified: Timestamp(nanoseconds: 0))
        }
        let item = Scheduler.Item(queue: build, name: "copy.json")
        await scheduler.postpone(item, until: .now() + 3600,
                                 unlessChangedFrom: FileFingerprint(size: 10, modified: Timestamp(nanoseconds: 0)))
        await scheduler.add(build, "copy.json")
        #expect(await scheduler.isEmpty, "our own put-back does not bring it back")
        size.withLock { $0 = 20 }
        await scheduler.add(build, "copy.json")
        #expect(await scheduler.count == 1, "the copy went on: try it now")
    }

    @Test func waitersGetNamesAsTheyArriveAndNilWhenClosed() async {
        let scheduler = Scheduler(queues: [build])
        async let first = scheduler.next()
        async let second = scheduler.next()
        try? await Task.sleep(nanoseconds: 10_000_000)
        await scheduler.add(build, "x.json")
        await scheduler.close()
        let got = await [first, second].compactMap { $0?.name }
        #expect(got == ["x.json"])
        #expect(await scheduler.next() == nil)
    }

    @Test func aNameBeingTriedIsNotHandedOutTwiceButComesBackIfSeenMeanwhile() async {
        let scheduler = Scheduler(queues: [build])
        await scheduler.add(build, "a.json")
        let item = await scheduler.next()
        #expect(item?.name == "a.json")
        await scheduler.add(build, "a.json")
        #expect(await scheduler.isEmpty, "a worker is trying it: not handed to another")
        await scheduler.finished(item!)
        #expect(await scheduler.count == 1, "it showed up again meanwhile: lined up once the worker is done")
        let again = await scheduler.next()
        await scheduler.finished(again!)
        #expect(await scheduler.isEmpty, "not seen again: nothing lined up")
    }
}
