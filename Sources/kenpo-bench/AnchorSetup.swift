// The anchors kenpo is compared with: Python (with pandas and lxml) and xmllint. Missing ones are
// installed when that is possible without asking (pip for the Python modules; apt-get as root, as
// .ci/setup does), and otherwise named with the line that installs them.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct Anchors {
    var python: String?
    var pandas = false
    var lxml = false
    var xmllint: String?
    var xargs: String?
    var sha256sum: String?
    /// What setup did or could not do, printed under the machine description.
    var notes: [String] = []

    /// Folder of the anchor scripts (run kenpo-bench from the package root).
    static let scripts = "Sources/kenpo-bench/anchors"
}

private func pythonHas(_ python: String, _ module: String) -> Bool {
    capture([python, "-c", "import \(module)"]) != nil
}

func prepareAnchors(install: Bool, needPython: Bool, needXML: Bool) -> Anchors {
    var a = Anchors()
    a.xargs = findExecutable("xargs")
    a.sha256sum = findExecutable("sha256sum")
    a.python = findExecutable("python3")
    if needPython || needXML {
        if let python = a.python {
            var missing = ["pandas", "lxml"].filter { !pythonHas(python, $0) }
            if !missing.isEmpty && install {
                print("setup: python3 -m pip install --quiet \(missing.joined(separator: " "))  (\(missing.joined(separator: ", ")) missing for the anchors)")
                let log = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-bench-pip-\(getpid()).log").path
                let m = measure([python, "-m", "pip", "install", "--quiet"] + missing, stdoutPath: log, stderrPath: log)
                if m.status == 0 {
                    a.notes.append("setup installed \(missing.joined(separator: ", ")) with pip (\(String(format: "%.0f", m.seconds)) s)")
                } else {
                    a.notes.append("setup could not install \(missing.joined(separator: ", ")) with pip (\(m.how)): \(tail(log, lines: 3).trimmingCharacters(in: .whitespacesAndNewlines))")
                }
                try? FileManager.default.removeItem(atPath: log)
                missing = ["pandas", "lxml"].filter { !pythonHas(python, $0) }
            }
            a.pandas = !missing.contains("pandas")
            a.lxml = !missing.contains("lxml")
            if !missing.isEmpty {
                a.notes.append("\(missing.joined(separator: " and ")) missing: their rows are skipped (python3 -m pip install \(missing.joined(separator: " ")))")
            }
        } else {
            a.notes.append("python3 not found: the Python, pandas and lxml rows are skipped (apt-get install python3, then python3 -m pip install pandas lxml)")
        }
    }
    if gnuTimePath == nil {
        a.notes.append("/usr/bin/time (GNU time) not found: peak RSS comes from wait4 and includes kenpo-bench's own (apt-get install time)")
    }
    if needXML {
        a.xmllint = findExecutable("xmllint")
        if a.xmllint == nil && install && getuid() == 0, let apt = findExecutable("apt-get") {
            print("setup: apt-get install -y libxml2-utils  (xmllint missing)")
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("kenpo-bench-apt-\(getpid()).log").path
            _ = measure([apt, "update", "-qq"], stdoutPath: log, stderrPath: log)
            let m = measure([apt, "install", "-y", "-qq", "libxml2-utils"], stdoutPath: log, stderrPath: log)
            a.notes.append(m.status == 0 ? "setup installed libxml2-utils (xmllint)" : "setup could not install libxml2-utils (\(m.how))")
            try? FileManager.default.removeItem(atPath: log)
            a.xmllint = findExecutable("xmllint")
        }
        if a.xmllint == nil {
            a.notes.append("xmllint not found: its row is skipped (apt-get install libxml2-utils)")
        }
    }
    return a
}
