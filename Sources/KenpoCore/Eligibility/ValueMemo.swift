import Foundation

/// The answer of a pure String rule for the few distinct values a roster column holds (保険者番号
/// is the same on every row; 性別 and 続柄 have a handful of codes), looked up by the field's bytes.
///
/// The roster reader keeps the rule's String form for these columns and asks it once per distinct
/// value instead of building a String per row. Equal bytes make equal Strings, so the answer is
/// the rule's own; a value not among the first `capacity` seen is simply computed each time.
struct ValueMemo<Value> {
    private var keys: [[UInt8]] = []
    private var values: [Value] = []
    private let capacity = 8

    /// `rule(text)` for the UTF-8 bytes `p`, remembered.
    mutating func value(_ p: UnsafeBufferPointer<UInt8>, _ rule: (String) -> Value) -> Value {
        for i in keys.indices where keys[i].count == p.count {
            if keys[i].withUnsafeBufferPointer({ k in p.isEmpty || memcmp(k.baseAddress!, p.baseAddress!, p.count) == 0 }) {
                return values[i]
            }
        }
        let v = rule(String(decoding: p, as: UTF8.self))
        if keys.count < capacity {
            keys.append(Array(p))
            values.append(v)
        }
        return v
    }
}
