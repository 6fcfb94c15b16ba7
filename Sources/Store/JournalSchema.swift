extension TerminalStore {
    /// Migration 0003: the journal every payment rail writes to (docs/store.md, "Schema").
    ///
    /// SQLite cannot change a CHECK constraint in place, so `transactions` of 0002 is rebuilt (its rows copied;
    /// 0002 never shipped, so in practice the table is empty). The invariants live in the schema: CHECK
    /// constraints on every enumerated column and length, foreign keys to the batch and between reversals and
    /// their transaction, and triggers that keep statuses, upload states and reversal states moving forward only,
    /// a recorded transaction's identity fixed and the audit log append-only. Breaking (the default): it rebuilds a
    /// table older firmware reads.
    /// Migration `0006-reversal-unusable-response`: the reversals whose request got an unusable answer (a MAC that
    /// does not verify, docs/host-interface.md §10 and §11), so they give message reason `4020`. Additive: the
    /// reversals table's CHECK on its reason stays as it is; a firmware from before it ignores the table.
    static let reversalUnusableResponseMigration = Migration(
        "0006-reversal-unusable-response",
        """
        CREATE TABLE reversal_unusable_responses (
            txn_id INTEGER PRIMARY KEY REFERENCES transactions (id) ON DELETE CASCADE
        ) STRICT;
        """,
        compatibility: .additive
    )

    static let journalMigration = Migration(
        "0003-journal",
        """
        CREATE TABLE batches (
            number INTEGER PRIMARY KEY CHECK (number BETWEEN 1 AND 999999),
            state TEXT NOT NULL CHECK (state IN ('open', 'closed', 'settled')),
            opened_at INTEGER NOT NULL,
            closed_at INTEGER,
            CHECK ((state = 'open') = (closed_at IS NULL))
        ) STRICT;
        CREATE UNIQUE INDEX batches_one_open ON batches (state) WHERE state = 'open';
        INSERT INTO batches (number, state, opened_at) VALUES (1, 'open', strftime('%s', 'now'));

        CREATE TABLE counters (
            name TEXT PRIMARY KEY NOT NULL CHECK (name IN ('stan')),
            value INTEGER NOT NULL CHECK (value BETWEEN 0 AND 999999)
        ) STRICT;

        -- One row: a check value of the data key (HMAC under a derived key), so a wrong key is refused at open
        -- instead of every record looking tampered.
        CREATE TABLE journal_key (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            check_value BLOB NOT NULL CHECK (length(check_value) = 32),
            created_at INTEGER NOT NULL
        ) STRICT;

        ALTER TABLE transactions RENAME TO transactions_0002;
        DROP INDEX transactions_upload;
        CREATE TABLE transactions (
            id INTEGER PRIMARY KEY,
            -- The idempotency key the host uses to drop duplicates; unique for the life of the terminal.
            txn_ref TEXT NOT NULL UNIQUE CHECK (length(txn_ref) BETWEEN 8 AND 64),
            rail TEXT NOT NULL CHECK (rail IN ('emv-contact', 'emv-contactless', 'qr', 'prepaid')),
            kind TEXT NOT NULL CHECK (kind IN ('sale', 'refund', 'void', 'balance', 'topup', 'issue', 'qr-query')),
            amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
            currency INTEGER NOT NULL CHECK (currency BETWEEN 1 AND 999),
            status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'offline-approved', 'declined', 'reversed', 'failed')),
            upload_state TEXT NOT NULL CHECK (upload_state IN ('none', 'queued', 'sent', 'acknowledged', 'settled')),
            -- System trace audit number (ISO 8583 field 11) and batch number.
            stan INTEGER NOT NULL CHECK (stan BETWEEN 1 AND 999999),
            batch INTEGER NOT NULL REFERENCES batches (number),
            -- Days since 1970-01-01 in the terminal's time zone (the EMV transaction log's "today").
            business_day INTEGER NOT NULL,
            original_txn_ref TEXT CHECK (original_txn_ref IS NULL OR length(original_txn_ref) BETWEEN 8 AND 64),
            -- PAN: masked (first 6 / last 4), last four, keyed hash for look-ups, sealed value. Never clear.
            pan_masked TEXT CHECK (pan_masked IS NULL OR (length(pan_masked) BETWEEN 12 AND 19 AND pan_masked NOT GLOB '*[^0-9*]*' AND pan_masked GLOB '*[*]*')),
            pan_last4 TEXT CHECK (pan_last4 IS NULL OR (length(pan_last4) = 4 AND pan_last4 NOT GLOB '*[^0-9]*')),
            pan_hash BLOB CHECK (pan_hash IS NULL OR length(pan_hash) = 32),
            -- Sealed values: version byte, 12-byte nonce, ciphertext, 16-byte tag (docs/store.md, "Encryption").
            pan_sealed BLOB CHECK (pan_sealed IS NULL OR length(pan_sealed) >= 41),
            track2_sealed BLOB CHECK (track2_sealed IS NULL OR length(track2_sealed) >= 30),
            holder_sealed BLOB CHECK (holder_sealed IS NULL OR length(holder_sealed) >= 30),
            field55_sealed BLOB CHECK (field55_sealed IS NULL OR length(field55_sealed) >= 30),
            qr_code_sealed BLOB CHECK (qr_code_sealed IS NULL OR length(qr_code_sealed) >= 30),
            card_id_sealed BLOB CHECK (card_id_sealed IS NULL OR length(card_id_sealed) >= 30),
            aid TEXT CHECK (aid IS NULL OR (length(aid) BETWEEN 10 AND 32 AND aid NOT GLOB '*[^0-9A-F]*')),
            app_label TEXT CHECK (app_label IS NULL OR length(app_label) BETWEEN 1 AND 16),
            auth_code TEXT CHECK (auth_code IS NULL OR length(auth_code) BETWEEN 1 AND 6),
            response_code TEXT CHECK (response_code IS NULL OR length(response_code) = 2),
            rrn TEXT CHECK (rrn IS NULL OR length(rrn) BETWEEN 1 AND 12),
            entry_mode TEXT NOT NULL CHECK (entry_mode IN ('chip', 'contactless', 'magstripe', 'fallback', 'manual', 'qr', 'prepaid-card')),
            signature_required INTEGER NOT NULL DEFAULT 0 CHECK (signature_required IN (0, 1)),
            offline INTEGER NOT NULL DEFAULT 0 CHECK (offline IN (0, 1)),
            tampered INTEGER NOT NULL DEFAULT 0 CHECK (tampered IN (0, 1)),
            upload_attempts INTEGER NOT NULL DEFAULT 0 CHECK (upload_attempts >= 0),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            sent_at INTEGER,
            acknowledged_at INTEGER,
            CHECK ((pan_hash IS NULL) = (pan_sealed IS NULL) AND (pan_last4 IS NULL) = (pan_hash IS NULL) AND (pan_masked IS NULL) = (pan_hash IS NULL)),
            CHECK (status <> 'offline-approved' OR offline = 1),
            CHECK (upload_state NOT IN ('queued', 'sent', 'acknowledged') OR status IN ('approved', 'offline-approved', 'reversed'))
        ) STRICT;
        INSERT INTO transactions (id, txn_ref, rail, kind, amount_minor, currency, status, upload_state, stan, batch,
                                  business_day, entry_mode, offline, created_at, updated_at)
            SELECT id, txn_ref, rail, kind, amount_minor, currency, status, upload_state, ((id - 1) % 999999) + 1, 1,
                   created_at / 86400,
                   CASE rail WHEN 'emv-contact' THEN 'chip' WHEN 'emv-contactless' THEN 'contactless' WHEN 'qr' THEN 'qr' ELSE 'prepaid-card' END,
                   status = 'offline-approved', created_at, updated_at
            FROM transactions_0002;
        DROP TABLE transactions_0002;
        INSERT INTO counters (name, value) SELECT 'stan', coalesce((SELECT max(stan) FROM transactions), 0);
        CREATE INDEX transactions_upload ON transactions (upload_state) WHERE upload_state IN ('queued', 'sent');
        CREATE INDEX transactions_pan_day ON transactions (pan_hash, business_day) WHERE pan_hash IS NOT NULL;
        CREATE INDEX transactions_batch ON transactions (batch, rail, kind);

        -- A status moves forward only: pending to any outcome; an approval may later be reversed.
        CREATE TRIGGER transactions_status_forward BEFORE UPDATE OF status ON transactions
        WHEN OLD.status <> NEW.status AND NOT (OLD.status = 'pending'
            OR (OLD.status IN ('approved', 'offline-approved') AND NEW.status = 'reversed'))
        BEGIN SELECT RAISE(ABORT, 'transaction status moves forward only'); END;

        -- The store-and-forward queue: none → queued → sent → acknowledged → settled; sent → queued to retry;
        -- none → settled for records the host already holds (online approvals) when their batch settles.
        CREATE TRIGGER transactions_upload_forward BEFORE UPDATE OF upload_state ON transactions
        WHEN OLD.upload_state <> NEW.upload_state AND NOT (
            (OLD.upload_state = 'none' AND NEW.upload_state IN ('queued', 'settled'))
            OR (OLD.upload_state = 'queued' AND NEW.upload_state = 'sent')
            OR (OLD.upload_state = 'sent' AND NEW.upload_state IN ('queued', 'acknowledged'))
            OR (OLD.upload_state = 'acknowledged' AND NEW.upload_state = 'settled'))
        BEGIN SELECT RAISE(ABORT, 'upload state out of order'); END;

        -- What identifies a transaction to the host and to the sealed values never changes once recorded.
        CREATE TRIGGER transactions_identity_fixed BEFORE UPDATE OF txn_ref, rail, kind, amount_minor, currency, stan, batch, created_at ON transactions
        BEGIN SELECT RAISE(ABORT, 'a recorded transaction keeps its identity'); END;

        -- A reversal is armed (persisted) before the online request leaves, disarmed by the host's answer, or due
        -- (no answer, power cut, card declined after approval) until the host acknowledges it.
        CREATE TABLE reversals (
            id INTEGER PRIMARY KEY,
            txn_id INTEGER NOT NULL UNIQUE REFERENCES transactions (id) ON DELETE CASCADE,
            state TEXT NOT NULL CHECK (state IN ('armed', 'due', 'sent', 'acknowledged', 'disarmed')),
            reason TEXT CHECK (reason IS NULL OR reason IN ('no-response', 'power-failure', 'card-declined-after-approval', 'cancelled')),
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            CHECK (state IN ('armed', 'disarmed') OR reason IS NOT NULL)
        ) STRICT;
        CREATE INDEX reversals_due ON reversals (state) WHERE state IN ('armed', 'due', 'sent');
        CREATE TRIGGER reversals_forward BEFORE UPDATE OF state ON reversals
        WHEN OLD.state <> NEW.state AND NOT (
            (OLD.state = 'armed' AND NEW.state IN ('due', 'disarmed'))
            OR (OLD.state = 'due' AND NEW.state = 'sent')
            OR (OLD.state = 'sent' AND NEW.state IN ('due', 'acknowledged')))
        BEGIN SELECT RAISE(ABORT, 'reversal state out of order'); END;

        -- Terminal parameters (EMV and scheme tables, host settings) as versioned blobs.
        CREATE TABLE parameters (
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
            version INTEGER NOT NULL CHECK (version >= 1),
            content BLOB NOT NULL,
            installed_at INTEGER NOT NULL,
            PRIMARY KEY (name, version)
        ) STRICT;

        -- Administrative actions and alarms. Append-only: no row is changed or deleted.
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 64),
            action TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
            detail TEXT NOT NULL
        ) STRICT;
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """
    )
}
