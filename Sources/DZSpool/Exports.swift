/// Times in the spool's API are `DZSystem.Timestamp`s.
@_exported import struct DZSystem.Timestamp
/// Task and result files carry `JSONValue`s: every module that reads the spool reads them too, so they come with it.
@_exported import DZJSON
