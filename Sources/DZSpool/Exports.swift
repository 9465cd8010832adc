/// Times in the spool's API are `DZSystem.Timestamp`s.
@_exported import struct DZSystem.Timestamp
