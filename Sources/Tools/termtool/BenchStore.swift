#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import PaymentCrypto
import Store

/// Commits per second for one sale record: plain vs sealed (the journal's AES-256-GCM column sealing), WAL with
/// `synchronous=NORMAL` vs `FULL`, the journal API itself, and SQLCipher (whole-file encryption) doing the same
/// inserts with a raw key, all in one run on the same file system.
///
/// SQLCipher is driven by a small C program compiled on the fly against Debian's `libsqlcipher-dev`
/// (`cc -O2 -I/usr/include/sqlcipher … -lsqlcipher`); without it that row is skipped with a note.
struct BenchStore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-store",
        abstract: "Measure journal commits per second: plain vs encrypted, NORMAL vs FULL, and SQLCipher.")

    @Option(help: "Records per measurement.")
    var count: Int = 400

    @Option(help: "Rounds per configuration (the median is printed).")
    var rounds: Int = 3

    @Option(help: "Directory for the benchmark databases (default: a fresh one under /tmp; it is the disk that is measured).")
    var dir: String?

    static let plainTable = """
        CREATE TABLE IF NOT EXISTS sales (id INTEGER PRIMARY KEY, txn_ref TEXT NOT NULL UNIQUE, rail TEXT NOT NULL, kind TEXT NOT NULL,
            amount_minor INTEGER NOT NULL, currency INTEGER NOT NULL, status TEXT NOT NULL, stan INTEGER NOT NULL, batch INTEGER NOT NULL,
            pan TEXT, pan_masked TEXT, pan_last4 TEXT, track2 BLOB, holder TEXT, field55 BLOB, aid TEXT, auth_code TEXT, response_code TEXT,
            created_at INTEGER NOT NULL)
        """
    static let sealedTable = """
        CREATE TABLE IF NOT EXISTS sales (id INTEGER PRIMARY KEY, txn_ref TEXT NOT NULL UNIQUE, rail TEXT NOT NULL, kind TEXT NOT NULL,
            amount_minor INTEGER NOT NULL, currency INTEGER NOT NULL, status TEXT NOT NULL, stan INTEGER NOT NULL, batch INTEGER NOT NULL,
            pan_hash BLOB, pan_masked TEXT, pan_last4 TEXT, pan_sealed BLOB, track2_sealed BLOB, holder_sealed BLOB, field55_sealed BLOB,
            aid TEXT, auth_code TEXT, response_code TEXT, created_at INTEGER NOT NULL)
        """
    static let pan = Array("4761739001010119".utf8)
    static let track2 = Array("4761739001010119D22122011143804400000".utf8)
    static let holder = Array("VISA ACQUIRER TEST/CARD 01".utf8)
    static let field55 = [UInt8](repeating: 0x9F, count: 180)

    func run() throws {
        let root = dir ?? {
            var template = Array("/tmp/bench-store-XXXXXX".utf8CString)
            return mkdtemp(&template).map { String(cString: $0) } ?? "/tmp"
        }()
        print("bench-store: \(count) records × \(rounds) rounds per configuration, in \(root)")
        print("SQLite \(Database.libraryVersion); one INSERT per BEGIN IMMEDIATE … COMMIT, WAL")
        var results: [(String, Double)] = []
        var n = 0
        func path() -> String {
            n += 1
            return "\(root)/bench-\(getpid())-\(n).sqlite"
        }
        let key = SecretBytes(try SystemRandom().bytes(32))
        let sealer = try RecordSealer(dataKey: key, random: SystemRandom())
        for durability in [Database.Durability.normal, .full] {
            let label = durability == .full ? "FULL" : "NORMAL"
            var plain: [Double] = []
            var sealed: [Double] = []
            for _ in 0..<rounds {
                // Plain and sealed inserts alternate in chunks of 25 on two open databases, so a change in the
                // disk's speed (other tenants, write-back) hits both alike.
                let plainDB = try openBench(path(), Self.plainTable)
                let sealedDB = try openBench(path(), Self.sealedTable)
                var plainTime = 0.0
                var sealedTime = 0.0
                var i = 0
                while i < count {
                    let chunk = i..<min(i + 25, count)
                    plainTime += try insertPlain(plainDB, chunk, durability)
                    sealedTime += try insertSealed(sealedDB, chunk, durability, sealer)
                    i = chunk.upperBound
                }
                plain.append(Double(count) / plainTime)
                sealed.append(Double(count) / sealedTime)
            }
            results.append(("plain     WAL \(label)", median(plain)))
            results.append(("encrypted WAL \(label)", median(sealed)))
        }
        var journalRates: [Double] = []
        for _ in 0..<rounds { journalRates.append(try measureJournal(path(), key)) }
        for (name, rate) in results { print("\(name): \(Bench.format(rate, 0)) commits/s") }
        let ratio = (results.first { $0.0.hasPrefix("encrypted WAL FULL") }?.1 ?? 0) / max(results.first { $0.0.hasPrefix("plain     WAL FULL") }?.1 ?? 1, 1)
        print("encrypted / plain (FULL): \(Bench.format(ratio, 3)) (fsync-bound: varies with the disk from run to run)")
        // The sealing itself, without the disk: PAN hash and four AES-256-GCM seals per record.
        let sealStart = seconds()
        for i in 0..<count * 10 {
            let ref = "BENCH-SEAL-\(i)"
            let pan = SecretBytes(Self.pan)
            _ = try sealer.panHash(pan)
            _ = try sealer.seal(pan, rowKey: ref, column: "pan_sealed")
            _ = try sealer.seal(Self.track2, rowKey: ref, column: "track2_sealed")
            _ = try sealer.seal(Self.holder, rowKey: ref, column: "holder_sealed")
            _ = try sealer.seal(Self.field55, rowKey: ref, column: "field55_sealed")
        }
        let sealMicros = (seconds() - sealStart) / Double(count * 10) * 1e6
        let fullMicros = 1e6 / max(results.first { $0.0.hasPrefix("plain     WAL FULL") }?.1 ?? 1, 1)
        print("sealing per record (CPU only): \(Bench.format(sealMicros, 1)) µs = \(Bench.format(sealMicros / fullMicros * 100, 2)) % of a plain FULL commit (\(Bench.format(fullMicros, 0)) µs)")
        print("journal API (offline sale = begin + recordOutcome, 2 FULL commits): \(Bench.format(median(journalRates), 0)) sales/s")
        for sync in ["NORMAL", "FULL"] {
            switch sqlcipher(root: root, sync: sync) {
            case .success(let rate): print("SQLCipher WAL \(sync): \(Bench.format(rate, 0)) commits/s")
            case .failure(let note): print("SQLCipher WAL \(sync): skipped (\(note.text))")
            }
        }
        if dir == nil { _ = system("rm -rf '\(root)'") }
    }

    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func openBench(_ path: String, _ schema: String) throws -> Database {
        let db = try Database(path: path)
        try db.execute(schema)
        return db
    }

    func common(_ i: Int) -> [Database.Value] {
        [.text("BENCH\(getpid())-\(i)"), .text("emv-contact"), .text("sale"), .integer(Int64(100 + i)), .integer(978), .text("approved"),
         .integer(Int64(i % 999_999 + 1)), .integer(1)]
    }

    /// Seconds to insert the records `range`, one commit each.
    func insertPlain(_ db: Database, _ range: Range<Int>, _ durability: Database.Durability) throws -> Double {
        let start = seconds()
        for i in range {
            try db.write(durability: durability) { db in
                try db.query("INSERT INTO sales (txn_ref, rail, kind, amount_minor, currency, status, stan, batch, pan, pan_masked, pan_last4, track2, holder, field55, aid, auth_code, response_code, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             common(i) + [.text(String(decoding: Self.pan, as: UTF8.self)), .text("476173******0119"), .text("0119"), .blob(Self.track2),
                                          .text(String(decoding: Self.holder, as: UTF8.self)), .blob(Self.field55), .text("A0000000031010"), .text("123456"), .text("00"), .integer(Int64(time(nil)))])
            }
        }
        return seconds() - start
    }

    /// Seconds to seal and insert the records `range`, one commit each.
    func insertSealed(_ db: Database, _ range: Range<Int>, _ durability: Database.Durability, _ sealer: RecordSealer) throws -> Double {
        let start = seconds()
        for i in range {
            let row = common(i)
            guard case .text(let ref) = row[0] else { continue }
            // What the journal does per sale: hash the PAN and seal four values, inside the measured loop.
            let pan = SecretBytes(Self.pan)
            let values: [Database.Value] = [
                .blob(try sealer.panHash(pan)), .text("476173******0119"), .text("0119"),
                .blob(try sealer.seal(pan, rowKey: ref, column: "pan_sealed")), .blob(try sealer.seal(Self.track2, rowKey: ref, column: "track2_sealed")),
                .blob(try sealer.seal(Self.holder, rowKey: ref, column: "holder_sealed")), .blob(try sealer.seal(Self.field55, rowKey: ref, column: "field55_sealed")),
            ]
            try db.write(durability: durability) { db in
                try db.query("INSERT INTO sales (txn_ref, rail, kind, amount_minor, currency, status, stan, batch, pan_hash, pan_masked, pan_last4, pan_sealed, track2_sealed, holder_sealed, field55_sealed, aid, auth_code, response_code, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             row + values + [.text("A0000000031010"), .text("123456"), .text("00"), .integer(Int64(time(nil)))])
            }
        }
        return seconds() - start
    }

    func measureJournal(_ path: String, _ key: SecretBytes) throws -> Double {
        let journal = try TransactionJournal(store: try TerminalStore(path: path), dataKey: key, random: SystemRandom(), clock: { Int64(time(nil)) },
                                             policy: OfflinePolicy(floorLimitMinor: .max, maximumUnsentAmountMinor: .max, maximumUnsentCount: .max))
        let card = CardData(pan: SecretBytes(Self.pan), track2Equivalent: SecretBytes(Self.track2), cardholderName: SecretBytes(Self.holder), field55: SecretBytes(Self.field55))
        let start = seconds()
        for i in 0..<count {
            let id = try journal.begin(TransactionDraft(rail: .emvContact, kind: .sale, amountMinor: Int64(100 + i), currency: 978, entryMode: .chip, card: card, aid: "A0000000031010"))
            try journal.recordOutcome(id, .offlineApproved(authorizationResponseCode: "Y1", authorizationCode: nil))
        }
        return Double(count) / (seconds() - start)
    }

    struct Note: Error {
        var text: String
    }

    /// Compiles and runs the SQLCipher program: the same plain row, one INSERT per transaction, raw 256-bit key.
    func sqlcipher(root: String, sync: String) -> Result<Double, Note> {
        guard access("/usr/include/sqlcipher/sqlite3.h", R_OK) == 0 else { return .failure(Note(text: "install libsqlcipher-dev")) }
        let source = root + "/sqlcipher-bench.c"
        let binary = root + "/sqlcipher-bench"
        if access(binary, X_OK) != 0 {
            let fd = open(source, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { return .failure(Note(text: "cannot write \(source)")) }
            let bytes = Array(Self.cSource.utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard system("cc -O2 -I/usr/include/sqlcipher -o '\(binary)' '\(source)' -lsqlcipher") == 0 else { return .failure(Note(text: "cc failed")) }
        }
        var rates: [Double] = []
        for round in 0..<rounds {
            let out = root + "/sqlcipher-\(sync)-\(round).out"
            guard system("'\(binary)' '\(root)/cipher-\(sync)-\(round).sqlite' \(count) \(sync) > '\(out)'") == 0,
                let text = try? readSmallFile(out), let rate = Double(text.split(separator: "\n").first ?? "")
            else { return .failure(Note(text: "the SQLCipher run failed")) }
            rates.append(rate)
        }
        return .success(median(rates))
    }

    func readSmallFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Note(text: "cannot read \(path)") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buffer, buffer.count)
        return String(decoding: buffer[0..<max(n, 0)], as: UTF8.self)
    }

    static let cSource = #"""
        #include <sqlite3.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>
        #include <unistd.h>
        static void check(int rc, sqlite3 *db, const char *what) {
            if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) { fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db)); exit(1); }
        }
        int main(int argc, char **argv) {
            sqlite3 *db; int count = atoi(argv[2]); char sql[256]; unsigned char field55[180]; memset(field55, 0x9F, sizeof field55);
            check(sqlite3_open(argv[1], &db), db, "open");
            /* A raw 256-bit key: no PBKDF2 (the journal's key is raw too). */
            check(sqlite3_exec(db, "PRAGMA key = \"x'000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F'\"", 0, 0, 0), db, "key");
            check(sqlite3_exec(db, "PRAGMA journal_mode = WAL", 0, 0, 0), db, "wal");
            snprintf(sql, sizeof sql, "PRAGMA synchronous = %s", argv[3]);
            check(sqlite3_exec(db, sql, 0, 0, 0), db, "sync");
            check(sqlite3_exec(db, "CREATE TABLE sales (id INTEGER PRIMARY KEY, txn_ref TEXT NOT NULL UNIQUE, rail TEXT NOT NULL, kind TEXT NOT NULL, amount_minor INTEGER NOT NULL, currency INTEGER NOT NULL, status TEXT NOT NULL, stan INTEGER NOT NULL, batch INTEGER NOT NULL, pan TEXT, pan_masked TEXT, pan_last4 TEXT, track2 BLOB, holder TEXT, field55 BLOB, aid TEXT, auth_code TEXT, response_code TEXT, created_at INTEGER NOT NULL)", 0, 0, 0), db, "create");
            struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
            for (int i = 0; i < count; i++) {
                sqlite3_stmt *st; char ref[64]; snprintf(ref, sizeof ref, "BENCH%d-%d", getpid(), i);
                check(sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0), db, "begin");
                check(sqlite3_prepare_v2(db, "INSERT INTO sales (txn_ref, rail, kind, amount_minor, currency, status, stan, batch, pan, pan_masked, pan_last4, track2, holder, field55, aid, auth_code, response_code, created_at) VALUES (?, 'emv-contact', 'sale', ?, 978, 'approved', ?, 1, '4761739001010119', '476173******0119', '0119', ?, 'VISA ACQUIRER TEST/CARD 01', ?, 'A0000000031010', '123456', '00', ?)", -1, &st, 0), db, "prepare");
                sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 2, 100 + i);
                sqlite3_bind_int64(st, 3, i % 999999 + 1);
                sqlite3_bind_blob(st, 4, "4761739001010119D22122011143804400000", 37, SQLITE_TRANSIENT);
                sqlite3_bind_blob(st, 5, field55, sizeof field55, SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 6, (long long)time(0));
                check(sqlite3_step(st), db, "insert");
                sqlite3_finalize(st);
                check(sqlite3_exec(db, "COMMIT", 0, 0, 0), db, "commit");
            }
            clock_gettime(CLOCK_MONOTONIC, &b);
            printf("%.1f\n", count / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9));
            sqlite3_close(db);
            return 0;
        }
        """#
}
