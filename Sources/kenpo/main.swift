import Foundation
import KenpoCore
#if canImport(Glibc)
import Glibc
#endif

// kenpo: the command line over KenpoCore. Argument handling and output only.

umask(0o077)  // every file and folder kenpo creates is the owner's alone
setvbuf(stdout, nil, _IOLBF, 0)

let usage = """
usage: kenpo COMMAND [OPTIONS]

commands:
  run PIPELINE [--data DIR] [--date YYYY-MM-DD] [--key-file F]
      run a pipeline (pipelines/*.pipeline) as one run: eligibility, import and grading, codes, reissue,
      deletion, export, hand-back; a step that fails is rolled back and the others still run; rerunning
      the same date after a crash resumes after the last completed step; committed inputs are archived
  eligibility [--data DIR] [--date YYYY-MM-DD] [--confirm-short-roster NAME]... --profile NAME FILE... [--profile NAME FILE...]
      read insurer rosters into the member master; a roster with fewer than half the insurer's previous
      members (20 or more) is held back (exit 3, ROSTER_HELD_BACK) unless --confirm-short-roster names its profile
  import [--data DIR] [--date YYYY-MM-DD] [--source insurer|mynaportal|member_upload] [--items TSV] [--workers N]
         [--table NAME] [--grading DIR] INPUT...
      read checkups (CDA XML, .xml.gz, MHLW transfer ZIPs), cost notices and prescriptions
      (kenpo XML, pipelines/formats/) from files or folders into the member's records; checkup
      results are graded A–D with the grading table (default ningen-dock-2024, pipelines/grading/)
  regrade [--data DIR] [--date YYYY-MM-DD] [--table NAME] [--grading DIR] [--items TSV]
      grade every stored checkup result again with a table edition; publishes grade_changes.csv
  grade --item CODE --value V [--unit U] [--sex M|F] [--fasting|--random] [--table NAME] [--grading DIR]
      explain one result's grade: the band, the MHLW flag and the table's source
  keys [--insurer N] [--symbol S] [--number N] [--kana K] [--birth D]
      print the registration match keys for these values, keyed as a roster row would be
  generate --members N --seed S --out DIR [--profile NAME]... [--faulty FRACTION] [--date YYYY-MM-DD]
             [--health [--checkup-share F] [--checkup-years N]]
      write deterministic synthetic rosters, mailing lists and reissue requests; with --health also checkups (hc08 CDA),
      transfer ZIPs, cost notices and prescriptions for the generated members
  codes [--data DIR] [--date YYYY-MM-DD] [--key-file F] [--print-encoding cp932|utf-8] --profile NAME MAILING...
      issue checkup-viewing codes for insurer mailing lists: print file, vendor manifest, proof sheet
  reissue [--data DIR] [--date YYYY-MM-DD] [--key-file F] [--print-encoding cp932|utf-8] REQUESTS...
      reissue codes for lost postcards (support-desk CSV); the previous code is revoked
  delete [--data DIR] [--date YYYY-MM-DD] REQUESTS...
      delete members' Mynaportal and uploaded records (support-desk CSV request_id,person_id,requested_at)
      from the state, every retained state generation and every outbox run; insurer records are kept
  export [--data DIR] [--date YYYY-MM-DD] --person ID [--person ID...] --out DIR
      write each member's health records as DIR/kenpo-export-<person_id>-<date>.zip: checkups as
      MHLW hc08 CDA, cost notices and prescriptions as kenpo XML, export.json; importing it changes nothing
  merge --out DIR [--by insurer|file] OUTBOX...
      merge the published datasets of partition runs (one night, one machine each) into one folder of
      the same shape, by person id, with a manifest naming the partitions; by insurer (default) the
      partitions hold disjoint members, by file they share one insurer's roster
  barcode POSTAL_CODE ADDRESS
      print the Japan Post customer barcode of one address
  version

--data defaults to ./var; --date (the run date) defaults to today in Japan.
exit status: 0 success, 3 completed with rejected records, 4 completed but a step (or an input) failed and was
left out (run), 1 failed (nothing published), 2 bad usage or configuration.
"""

/// The "rejects:" line of a run or a merge: each reason code with its count, in code order.
func printRejects(_ reasons: [String: Int]) {
    guard !reasons.isEmpty else { return }
    print("  rejects: " + reasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
}

func printOutcome(_ o: RunOutcome, rejectsExitStatus: Int32 = 3) -> Int32 {
    let m = o.manifest
    print("run \(m.runId): \(m.status)")
    for line in RunReport.inputLines(m, manifestPath: o.outboxPath + "/manifest.json") { print("  in   " + line) }
    for f in m.outputs { print("  out  \(f.path): \(f.rows) rows") }
    printRejects(m.rejectReasons)
    let changes = m.summary.filter { $0.key.hasPrefix("change_") }.sorted { $0.key < $1.key }
    if !changes.isEmpty { print("  changes: " + changes.map { "\($0.key.dropFirst(7)) \($0.value)" }.joined(separator: ", ")) }
    // Grade distribution per analyte (grade_<analyte>_<A…D> in the summary).
    var grades: [String: [String: Int]] = [:]
    for (k, n) in m.summary where k.hasPrefix("grade_") && k.dropLast().hasSuffix("_") && k != "grade_changes" {
        grades[String(k.dropFirst(6).dropLast(2)), default: [:]][String(k.suffix(1))] = n
    }
    if !grades.isEmpty {
        print("  grades: " + grades.sorted { $0.key < $1.key }.map { a, g in
            "\(a) " + g.sorted { $0.key < $1.key }.map { "\($0.key)\($0.value)" }.joined(separator: " ")
        }.joined(separator: ", "))
    }
    print("  outbox: \(o.outboxPath)")
    print("  report: \(o.outboxPath)/report.html (and report.txt)")
    if o.status == .completedWithRejects { return rejectsExitStatus }
    return o.status.rawValue
}

/// Roster inputs from (profile name, files) groups, profiles looked up in `profileDirectory`.
func rosterInputs(_ groups: [(profile: String, files: [String])], profileDirectory: String = "pipelines/profiles") throws -> [RosterInput] {
    try groups.flatMap { g in
        let profile = try InsurerProfile.resolve(g.profile, searchDirectory: profileDirectory)
        return g.files.map { RosterInput(profile: profile, path: $0) }
    }
}

func runEligibility(_ args: Arguments) throws -> Int32 {
    let groups = try args.filesByProfile()
    guard !groups.isEmpty else { throw KenpoError.usage("eligibility needs --profile NAME FILE...\n\n" + usage) }
    let inputs = try rosterInputs(groups)
    let confirmed = args.values("confirm-short-roster")
    for name in confirmed where !groups.contains(where: { $0.profile == name }) {
        throw KenpoError.usage("--confirm-short-roster \(name): no roster of that profile is given (--profile \(name) FILE...)")
    }
    let outcome = try StageRunner.run(dataRoot: args.value("data") ?? "var", stage: "eligibility", runDate: try args.runDate()) { run in
        let stage = EligibilityStage(run: run)
        stage.confirmedShortRosters = Set(confirmed)
        try stage.process(inputs)
    }
    return printOutcome(outcome)
}

func runImport(_ args: Arguments) throws -> Int32 {
    guard !args.files.isEmpty else { throw KenpoError.usage("import needs at least one file or folder\n\n" + usage) }
    var source: RecordSource? = nil
    if let s = args.value("source") {
        guard let v = RecordSource(rawValue: s) else { throw KenpoError.usage("--source must be insurer, mynaportal or member_upload") }
        source = v
    }
    let items = try CheckupItems.load(path: args.value("items") ?? "pipelines/reference/checkup-items.tsv")
    let grader = try GradingReference.load(directory: args.value("grading") ?? GradingReference.defaultDirectory, table: args.value("table"), items: items)
    let inputs = args.files.map { ImportInput(path: $0, source: source) }
    try ImportInput.checkArguments(inputs)
    var workers = ProcessInfo.processInfo.activeProcessorCount
    if let w = args.value("workers") {
        guard let n = Int(w), n >= 1, n <= 64 else { throw KenpoError.usage("--workers must be a whole number from 1 to 64") }
        workers = n
    }
    let outcome = try StageRunner.run(dataRoot: args.value("data") ?? "var", stage: "import", runDate: try args.runDate()) { run in
        let stage = ImportStage(run: run, items: items)
        stage.workers = workers
        stage.grader = grader
        try stage.process(inputs)
    }
    return printOutcome(outcome)
}

func runRegrade(_ args: Arguments) throws -> Int32 {
    guard args.files.isEmpty else { throw KenpoError.usage("regrade takes no files; it regrades the stored results (kenpo regrade [--table NAME])") }
    let items = try CheckupItems.load(path: args.value("items") ?? "pipelines/reference/checkup-items.tsv")
    let grader = try GradingReference.load(directory: args.value("grading") ?? GradingReference.defaultDirectory, table: args.value("table"), items: items)
    let outcome = try StageRunner.run(dataRoot: args.value("data") ?? "var", stage: "regrade", runDate: try args.runDate()) { run in
        try RegradeStage(run: run, grader: grader).process()
    }
    let code = printOutcome(outcome)
    let m = outcome.manifest
    print("  regraded \(m.summary["results_regraded"] ?? 0) results with \(grader.bands.label): \(m.summary["grade_changes"] ?? 0) changed (grade_changes.csv)")
    return code
}

/// `kenpo grade`: the support desk's "why is my result C?".
func runGrade(_ args: Arguments) throws -> Int32 {
    let items = try CheckupItems.load(path: args.value("items") ?? "pipelines/reference/checkup-items.tsv")
    let grader = try GradingReference.load(directory: args.value("grading") ?? GradingReference.defaultDirectory, table: args.value("table"), items: items)
    let code = try args.required("item", "the 17-character checkup item code, e.g. 3D046000001906202 (HbA1c)")
    let valueText = try args.required("value", "the result, e.g. 5.6 (a urine level 1–5 for qualitative urine items)")
    var sex = GradingSex.unknown
    if let s = args.value("sex") {
        guard let v = GradingSex(rawValue: s.uppercased()), v != .unknown else { throw KenpoError.usage("--sex must be M or F (leave it out when unknown)") }
        sex = v
    }
    let fasting = args.flags.contains("fasting"), random = args.flags.contains("random")
    guard !(fasting && random) else { throw KenpoError.usage("give --fasting or --random, not both") }
    let explanation = try GradeQuery(grader: grader, itemCode: code, value: valueText, unit: args.value("unit"), sex: sex,
                                     timing: fasting ? .fasting : random ? .random : nil).explain()
    for line in explanation { print(line) }
    return 0
}

func runPipeline(_ args: Arguments) throws -> Int32 {
    guard args.files.count == 1 else { throw KenpoError.usage("run needs exactly one pipeline file, e.g. kenpo run pipelines/samples.pipeline") }
    let pipeline = try PipelineDefinition.load(path: args.files[0])
    let runner = PipelineRun(pipeline: pipeline, dataRoot: args.value("data") ?? "var", runDate: try args.runDate())
    runner.codeKeyFile = args.value("key-file")
    let outcome = try runner.execute()
    guard let m = outcome.manifest, let outboxPath = outcome.outboxPath else {
        print("nothing to do: \(outcome.alreadyCommitted) input files in the pipeline's folders were all committed by earlier runs; nothing published")
        if let latest = DataFolder(root: args.value("data") ?? "var").latestRun() { print("  latest run: \(args.value("data") ?? "var")/outbox/\(latest)") }
        return 0
    }
    if outcome.finishedEarlierRun {
        print("run \(m.runId) had been published before it stopped; this start finished moving its inputs to the archive")
    } else if outcome.resumed {
        print("resumed: steps completed before the run stopped were not redone")
    }
    for s in m.steps ?? [] {
        var line = "  step \(s.name): \(s.status)\(s.resumed ? " (before the restart)" : "")"
        if s.status != "nothing_to_do" {
            line += String(format: ", %d records in %.1f s, peak memory %.0f MB", s.records, s.seconds, Double(s.peakRssBytes) / 1_048_576)
        }
        print(line)
        for n in s.notes { print("      \(n)") }
    }
    let code = printOutcome(RunOutcome(manifest: m, status: outcome.status, outboxPath: outboxPath), rejectsExitStatus: pipeline.rejectsExitStatus)
    if let n = m.summary["postcards"] { print("  postcards: \(n) (codes superseded \(m.summary["codes_superseded"] ?? 0), revoked \(m.summary["codes_revoked"] ?? 0))") }
    // From the list or, for a big run whose manifest holds no list, its figures.
    if let archived = RunReport.archived(m), archived.count > 0 {
        print("  inputs committed: \(archived.count)" + (pipeline.archiveMode == .move ? ", moved to the archive" : ", kept in place ([archive] mode = keep)"))
    }
    // A held-back roster needs the operator whatever rejects_exit_status says.
    if m.rejectReasons[RejectReason.rosterHeldBack.rawValue, default: 0] > 0 && code == 0 {
        return ExitStatus.completedWithRejects.rawValue
    }
    return code
}

func runKeys(_ args: Arguments) throws -> Int32 {
    guard !args.options.isEmpty else { throw KenpoError.usage("keys needs at least one of --insurer --symbol --number --kana --birth") }
    let keys = MatchKeys(insurer: args.value("insurer"), symbol: args.value("symbol"), number: args.value("number"),
                         kana: args.value("kana"), birth: args.value("birth"))
    for line in keys.lines { print(line) }
    if !keys.problems.isEmpty {
        for p in keys.problems { Log.error(p) }
        return ExitStatus.usage.rawValue
    }
    return 0
}

func runGenerate(_ args: Arguments) throws -> Int32 {
    guard let members = Int(try args.required("members", "how many people, e.g. --members 1000")), members > 0 else {
        throw KenpoError.usage("--members must be a positive whole number")
    }
    guard let seed = UInt64(try args.required("seed", "any whole number; the same seed gives the same files")) else {
        throw KenpoError.usage("--seed must be a non-negative whole number")
    }
    let out = try args.required("out", "the folder to write into")
    var faulty = 0.0
    if let f = args.value("faulty") {
        guard let v = Double(f), v >= 0, v <= 1 else { throw KenpoError.usage("--faulty must be a fraction between 0 and 1, e.g. 0.02") }
        faulty = v
    }
    var names = args.values("profile")
    if names.isEmpty {
        names = FileSystem.listDirectory("pipelines/profiles").filter { $0.hasSuffix(".profile") }.map { String($0.dropLast(8)) }
        guard !names.isEmpty else { throw KenpoError.usage("no profiles found in pipelines/profiles; name one with --profile") }
    }
    let profiles = try names.map { try InsurerProfile.resolve($0) }
    let options = GeneratorOptions(
        members: members, seed: seed, faultyShare: faulty, runDate: try args.runDate(), profiles: profiles, outDirectory: out)
    var files: [GeneratedFile]
    if args.flags.contains("health") {
        // Checkups, transfer ZIPs, cost notices and prescriptions for the valid members, in one pass.
        var health = HealthRecordOptions(seed: seed, runDate: options.runDate, outDirectory: out)
        if let s = args.value("checkup-share") {
            guard let v = Double(s), (0...1).contains(v) else { throw KenpoError.usage("--checkup-share must lie between 0 and 1") }
            health.checkupShare = v
        }
        if let y = args.value("checkup-years") {
            guard let v = Int(y), v >= 1, v <= 20 else { throw KenpoError.usage("--checkup-years must be 1 to 20") }
            health.checkupYears = v
        }
        let generator = try HealthRecordGenerator(health)
        files = try RosterGenerator.generate(options, onSubject: { try generator.add($0) })
        files += try generator.finish()
    } else {
        files = try RosterGenerator.generate(options)
    }
    for f in files {
        var notes: [String] = []
        if f.faultyRows > 0 { notes.append("\(f.faultyRows) faulty") }
        if f.mergedRows > 0 { notes.append("\(f.mergedRows) repeated, merged by kenpo") }
        print("\(f.path): \(f.rows) rows" + (notes.isEmpty ? "" : " (" + notes.joined(separator: ", ") + ")"))
    }
    return 0
}

/// Options shared by `codes` and `reissue`: the key (no key, no codes), the print encoding, insurer names.
func codesOptions(_ args: Arguments) throws -> CodesOptions {
    var o = CodesOptions(key: try CodeKey.resolve(keyFile: args.value("key-file")))
    switch args.value("print-encoding")?.lowercased() {
    case nil, "cp932", "shift_jis", "sjis": o.printEncoding = .cp932
    case "utf-8", "utf8": o.printEncoding = .utf8
    case let e?: throw KenpoError.usage("--print-encoding '\(e)' must be cp932 or utf-8")
    }
    o.addInsurers(fromProfileDirectory: "pipelines/profiles")
    // Test hook (documented): die after staging, before the commit, as a crash would.
    o.failBeforePublish = ProcessInfo.processInfo.environment["KENPO_FAIL_BEFORE_PUBLISH"] == "1"
    return o
}

func runCodeBatch(_ args: Arguments, stage: String, input: CodeBatchInput, options: CodesOptions) throws -> Int32 {
    do {
        let outcome = try StageRunner.run(dataRoot: args.value("data") ?? "var", stage: stage, runDate: try args.runDate()) { run in
            try CodesStage(run: run, options: options).process(input)
        }
        let code = printOutcome(outcome)
        let m = outcome.manifest
        if let n = m.summary["postcards"] {
            print("  postcards: \(n)" + (n > 0 ? ", sequence \(m.summary["first_sequence"] ?? 0)–\(m.summary["last_sequence"] ?? 0)" : "")
                  + "; codes superseded \(m.summary["codes_superseded"] ?? 0), revoked \(m.summary["codes_revoked"] ?? 0), active \(m.summary["codes_active"] ?? 0)")
        }
        return code
    } catch let done as BatchAlreadyIssued {
        print(done.description)
        return 0
    }
}

func runCodes(_ args: Arguments) throws -> Int32 {
    let groups = try args.filesByProfile()
    guard !groups.isEmpty else { throw KenpoError.usage("codes needs --profile NAME MAILING...\n\n" + usage) }
    let lists = try groups.flatMap { g in
        let profile = try InsurerProfile.resolve(g.profile)
        return g.files.map { (profile: profile, path: $0) }
    }
    let options = try codesOptions(args)
    return try runCodeBatch(args, stage: "codes", input: .mailing(lists), options: options)
}

func runReissue(_ args: Arguments) throws -> Int32 {
    guard !args.files.isEmpty else { throw KenpoError.usage("reissue needs at least one request file\n\n" + usage) }
    let options = try codesOptions(args)
    return try runCodeBatch(args, stage: "reissue", input: .reissue(args.files), options: options)
}

func runDelete(_ args: Arguments) throws -> Int32 {
    guard !args.files.isEmpty else { throw KenpoError.usage("delete needs at least one deletion request file (request_id,person_id,requested_at)\n\n" + usage) }
    let outcome = try StageRunner.run(dataRoot: args.value("data") ?? "var", stage: "delete", runDate: try args.runDate()) { run in
        try DeletionStage(run: run).process(args.files)
    }
    let code = printOutcome(outcome)
    let s = outcome.manifest.summary
    let removed = s.filter { $0.key.hasPrefix("deleted_") && $0.value > 0 }.sorted { $0.key < $1.key }
    print("  deleted: \(s["deletion_requests"] ?? 0) requests" + (removed.isEmpty ? "" : "; " + removed.map { "\($0.key.dropFirst(8)) \($0.value)" }.joined(separator: ", "))
          + "; kept with insurer source \(s["records_kept_insurer"] ?? 0); documents tombstoned \(s["documents_tombstoned"] ?? 0)"
          + "; rewritten \(s["deletion_generations_swept"] ?? 0) retained generations, \(s["deletion_outbox_runs_swept"] ?? 0) outbox runs")
    return code
}

/// `kenpo export`: one ZIP per person of their stored health records, in the formats kenpo imports.
func runExport(_ args: Arguments) throws -> Int32 {
    guard args.files.isEmpty else { throw KenpoError.usage("export takes no files; name each person with --person ID") }
    let persons = args.values("person")
    guard !persons.isEmpty else {
        throw KenpoError.usage("export needs --person ID (the person_id of members.csv), e.g. kenpo export --person 1d18ed023e17ccd0 --out exports")
    }
    let out = try args.required("out", "the folder to write the export ZIPs into")
    let export = try MemberExport(data: DataFolder(root: args.value("data") ?? "var"), exportDate: try args.runDate())
    var refused = 0
    for outcome in try export.export(persons: persons, to: out) {
        switch outcome {
        case .exported(let r):
            let c = r.counts
            print("exported \(r.personID): \(r.file.path): \(c.checkups) checkups (\(c.checkupResults) results), "
                  + "\(c.costNotices) cost notices, \(c.dispensings) dispensings (\(c.prescriptionDrugs) drugs)"
                  + (c.records == 0 ? "; the person has no health records: the ZIP holds export.json only" : ""))
        case .refused(_, let reason, let message):
            refused += 1
            Log.error("export: \(reason.rawValue): \(message); not exported")
        }
    }
    return refused > 0 ? ExitStatus.usage.rawValue : 0
}

/// `kenpo merge`: the partitions' outboxes into one folder (PartitionMerge).
func runMerge(_ args: Arguments) throws -> Int32 {
    let out = try args.required("out", "the folder to write the merged datasets into (it must not exist yet)")
    let by = args.value("by") ?? "insurer"
    guard let kind = PartitionMerge.Kind(rawValue: by) else { throw KenpoError.usage("--by must be insurer or file, not '\(by)'") }
    guard !args.files.isEmpty else { throw KenpoError.usage("merge needs the partitions' outboxes, e.g. kenpo merge --out merged a/outbox/latest b/outbox/latest\n\n" + usage) }
    let m = try PartitionMerge(outboxes: args.files, kind: kind, out: out).execute()
    print("merge: \(m.partitions.count) partitions by \(m.partitionedBy), run date \(m.runDate)")
    for p in m.partitions {
        print("  partition \(p.runId): \(p.outbox)" + (p.profiles.isEmpty ? "" : " (" + p.profiles.joined(separator: ", ") + ")") + ": \(p.status)")
    }
    for f in m.outputs where !f.path.contains("/") { print("  out  \(f.path): \(f.rows) rows") }
    let copied = m.outputs.filter { $0.path.contains("/") }.count
    if copied > 0 { print("  linked through: \(copied) files (insurers/, postcards/, exports/)") }
    for s in m.fromState { print("  from state: \(s)") }
    for n in m.notes { print("  note: \(n)") }
    printRejects(m.rejectReasons)
    print("  merged: \(out) (manifest.json)")
    return 0
}

func runBarcode(_ args: Arguments) throws -> Int32 {
    guard args.files.count == 2 else { throw KenpoError.usage("barcode needs POSTAL_CODE ADDRESS, e.g. kenpo barcode 263-0023 千葉市稲毛区緑町3丁目30-8 郵便ビル403号") }
    do {
        let b = try CustomerBarcode.encode(postalCode: args.files[0], address: args.files[1])
        print("postal_code: \(b.postalCode)")
        print("address_number: \(b.addressNumber)")
        print("data_characters: \(b.dataString)")
        print("check_character: \(b.checkCharacter)")
        print("bars: \(b.bars)")
        return 0
    } catch let e as InvalidPostalCode {
        throw KenpoError.usage(e.description)
    }
}

func main() -> Int32 {
    var argv = CommandLine.arguments
    argv.removeFirst()
    guard let command = argv.first else {
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        return ExitStatus.usage.rawValue
    }
    let rest = argv.dropFirst()
    do {
        switch command {
        case "eligibility":
            return try runEligibility(Arguments(rest, valueOptions: ["data", "date", "profile", "confirm-short-roster"]))
        case "run":
            return try runPipeline(Arguments(rest, valueOptions: ["data", "date", "key-file"]))
        case "import":
            return try runImport(Arguments(rest, valueOptions: ["data", "date", "source", "items", "workers", "table", "grading"]))
        case "regrade":
            return try runRegrade(Arguments(rest, valueOptions: ["data", "date", "table", "grading", "items"]))
        case "grade":
            return try runGrade(Arguments(rest, valueOptions: ["item", "value", "unit", "sex", "table", "grading", "items"], flagOptions: ["fasting", "random"]))
        case "keys":
            return try runKeys(Arguments(rest, valueOptions: ["insurer", "symbol", "number", "kana", "birth"]))
        case "generate":
            return try runGenerate(Arguments(rest, valueOptions: ["members", "seed", "out", "profile", "faulty", "date", "checkup-share", "checkup-years"], flagOptions: ["health"]))
        case "codes":
            return try runCodes(Arguments(rest, valueOptions: ["data", "date", "profile", "key-file", "print-encoding"]))
        case "reissue":
            return try runReissue(Arguments(rest, valueOptions: ["data", "date", "key-file", "print-encoding"]))
        case "delete":
            return try runDelete(Arguments(rest, valueOptions: ["data", "date"]))
        case "export":
            return try runExport(Arguments(rest, valueOptions: ["data", "date", "person", "out"]))
        case "merge":
            return try runMerge(Arguments(rest, valueOptions: ["out", "by"]))
        case "barcode":
            return try runBarcode(Arguments(rest, valueOptions: []))
        case "version", "--version":
            print("kenpo \(KenpoVersion.current)")
            return 0
        case "help", "--help", "-h":
            print(usage)
            return 0
        default:
            throw KenpoError.usage("unknown command '\(command)'\n\n" + usage)
        }
    } catch let e as KenpoError {
        Log.error(e.description)
        return e.exitStatus.rawValue
    } catch {
        Log.error("\(error)")
        return ExitStatus.failed.rawValue
    }
}

exit(main())
