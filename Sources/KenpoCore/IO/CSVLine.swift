/// Splits one complete CSV row (as `CSVWriter.encodeRow` writes it, CRLF at the end) into fields.
/// For rows kenpo wrote itself; files from outside go through `CSVReader`.
public enum CSVLine {
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var fields: [String] = []
        var field: [UInt8] = []
        var i = 0
        var end = bytes.count
        if end >= 2, bytes[end - 2] == 0x0D, bytes[end - 1] == 0x0A { end -= 2 }
        var inQuotes = false
        while i < end {
            let b = bytes[i]
            if inQuotes {
                if b == 0x22 {
                    if i + 1 < end, bytes[i + 1] == 0x22 { field.append(0x22); i += 1 } else { inQuotes = false }
                } else {
                    field.append(b)
                }
            } else if b == 0x22 {
                inQuotes = true
            } else if b == 0x2C {
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
            } else {
                field.append(b)
            }
            i += 1
        }
        fields.append(String(decoding: field, as: UTF8.self))
        return fields
    }
}
