/// `Errno` is part of this module's API: every wrapper throws it.
@_exported import struct SystemPackage.Errno
