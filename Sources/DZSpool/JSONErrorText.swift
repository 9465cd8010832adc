import Foundation

/// A one-line account of a JSON decoding error, without Foundation's internal wording.
enum JSONErrorText {
    static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        }
        if let debug = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String { return debug }
        return String(describing: error).split(separator: "\n").first.map(String.init) ?? "unreadable"
    }
}
