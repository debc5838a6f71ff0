/*
 * fairtrail's dense GROUP BY for Spark: the counting step's groups, counted into arrays.
 *
 * Spark's hash aggregation probes a hash map row by row; with a million groups (cells x
 * labels x 10,000 score bins) the map outgrows the caches and the GROUP BY is 3 to 4 times
 * slower than with a few hundred. Here a key is split into a prefix (cell and labels: a few
 * hundred) and a slot (the score bin): each prefix owns a block of dense arrays, one slot
 * per bin, so a row costs a lookup in a small map and an array increment.
 *
 * The input is a projection: column 0 the key (BIGINT, not null), then number columns
 * (DOUBLE, NULL skipped), each summed, or its smallest or largest value kept, as Spark SQL's
 * SUM, MIN and MAX (NaN above every number, -0.0 equal to 0.0). Every row is counted. A
 * column whose values are only ever totalled per cell (the checks, missing values) is
 * aggregated per block, not per slot: a weighted audit's blocks stay a third as large.
 * Compiled by audit/_engines/_dense.py against the running PySpark's jars.
 */
package fairtrail.spark;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;

public final class DenseGroupBy {
    private DenseGroupBy() {}

    /** Thrown when the blocks would need more memory than allowed: the caller uses SQL. */
    public static final class TooLarge extends RuntimeException {
        TooLarge(String message) {
            super(message);
        }
    }

    /**
     * Groups the rows of {@code projected} by key.
     *
     * @param projected column 0 the key (BIGINT), then the number columns (DOUBLE)
     * @param tail slots per block: a key is {@code prefix * tail + slot}
     * @param kinds one letter per number column: {@code s} sum, {@code n} min, {@code x} max;
     *     upper-case for a column aggregated per prefix, not per slot (its value comes at the
     *     prefix's first occupied slot, with 0 or NULL at the others)
     * @param tasks partitions to count in (the input is coalesced to them, without a shuffle)
     * @param maxBytes the most memory one task's blocks may take (and at most an eighth of the
     *     JVM's heap); merged, four times as much (and at most a quarter of the heap)
     * @param out the file the driver writes the occupied slots to, little-endian: their
     *     number (int64), the keys (int64), the counts (int64), each column's values
     *     (float64), then for each min or max column one byte per slot, 1 where the slot saw a
     *     value (else its value is NULL). A file, because Py4J would copy the bytes as text.
     */
    public static void aggregate(
            Dataset<Row> projected, long tail, String kinds, int tasks, long maxBytes, String out)
            throws java.io.IOException {
        final int slots = Math.toIntExact(tail);
        final char[] kind = kinds.toCharArray();
        final int columns = projected.schema().size() - 1;
        if (columns != kind.length) {
            throw new IllegalArgumentException(
                    "kinds has " + kind.length + " letters for " + columns + " columns");
        }
        JavaRDD<InternalRow> rows = projected.coalesce(tasks).queryExecution().toRdd().toJavaRDD();
        JavaRDD<Groups> counted =
                rows.mapPartitions(
                        (Iterator<InternalRow> it) -> {
                            Groups g = new Groups(slots, kind, maxBytes);
                            while (it.hasNext()) {
                                g.add(it.next());
                            }
                            return Collections.singletonList(g).iterator();
                        });
        Groups total =
                counted.treeAggregate(
                        new Groups(slots, kind, maxBytes),
                        DenseGroupBy::combine,
                        DenseGroupBy::combine,
                        2);
        java.nio.file.Files.write(java.nio.file.Paths.get(out), total.encode());
    }

    /** Both groups in one: the empty one is dropped, not copied into. */
    static Groups combine(Groups a, Groups b) {
        if (a.blocks.isEmpty()) {
            return b;
        }
        return a.merge(b);
    }

    /** Whether a column is aggregated per block (upper-case kind) rather than per slot. */
    static boolean perBlock(char kind) {
        return Character.isUpperCase(kind);
    }

    /** The operation of a kind: {@code s} sum, {@code n} min, {@code x} max. */
    static char op(char kind) {
        return Character.toLowerCase(kind);
    }

    /** Spark SQL's order of doubles: NaN above every number, -0.0 equal to 0.0. */
    static int compare(double a, double b) {
        return a == b ? 0 : Double.compare(a, b);
    }

    static final class Block implements Serializable {
        private static final long serialVersionUID = 1L;
        final long prefix;
        final long[] n;
        final double[][] value;
        final boolean[][] seen; // min and max columns only
        int first = -1; // the first slot that holds rows: it carries the block's own values

        Block(long prefix, int slots, char[] kind) {
            this.prefix = prefix;
            n = new long[slots];
            value = new double[kind.length][];
            seen = new boolean[kind.length][];
            for (int c = 0; c < kind.length; c++) {
                int size = perBlock(kind[c]) ? 1 : slots;
                value[c] = new double[size];
                if (op(kind[c]) != 's') {
                    seen[c] = new boolean[size];
                }
            }
        }
    }

    static final class Groups implements Serializable {
        private static final long serialVersionUID = 1L;
        final int slots;
        final char[] kind;
        final long maxBytes;
        final long blockBytes;
        final List<Block> blocks = new ArrayList<>();
        // An open-addressing map from prefix to block index; -1 is an empty place.
        long[] keys = new long[64];
        int[] index = new int[64];
        transient Block last;

        Groups(int slots, char[] kind, long maxBytes) {
            this.slots = slots;
            this.kind = kind;
            this.maxBytes = maxBytes;
            long perSlot = 8;
            for (char k : kind) {
                perSlot += perBlock(k) ? 0 : op(k) == 's' ? 8 : 9;
            }
            blockBytes = perSlot * slots;
            Arrays.fill(keys, -1L);
        }

        /**
         * The block of a prefix, made if new: within a task's budget, or when {@code merging}
         * within four times it (at most an eighth, or a quarter, of this JVM's heap).
         */
        Block block(long prefix, boolean merging) {
            if (last != null && last.prefix == prefix) {
                return last;
            }
            int mask = keys.length - 1;
            int at = (int) (mix(prefix) & mask);
            while (keys[at] != -1L) {
                if (keys[at] == prefix) {
                    last = blocks.get(index[at]);
                    return last;
                }
                at = (at + 1) & mask;
            }
            long heap = Runtime.getRuntime().maxMemory();
            long limit = merging ? Math.min(4 * maxBytes, heap / 4) : Math.min(maxBytes, heap / 8);
            if ((blocks.size() + 1) * blockBytes > limit) {
                throw new TooLarge(
                        "more than " + blocks.size() + " blocks of " + slots + " slots");
            }
            Block b = new Block(prefix, slots, kind);
            keys[at] = prefix;
            index[at] = blocks.size();
            blocks.add(b);
            if (2 * blocks.size() > keys.length) {
                grow();
            }
            last = b;
            return b;
        }

        private static long mix(long x) {
            x ^= x >>> 33;
            x *= 0xff51afd7ed558ccdL;
            x ^= x >>> 33;
            return x;
        }

        private void grow() {
            keys = new long[keys.length * 2];
            index = new int[keys.length];
            Arrays.fill(keys, -1L);
            int mask = keys.length - 1;
            for (int i = 0; i < blocks.size(); i++) {
                int at = (int) (mix(blocks.get(i).prefix) & mask);
                while (keys[at] != -1L) {
                    at = (at + 1) & mask;
                }
                keys[at] = blocks.get(i).prefix;
                index[at] = i;
            }
        }

        void add(InternalRow row) {
            long key = row.getLong(0);
            Block b = block(key / slots, false);
            int slot = (int) (key % slots);
            b.n[slot]++;
            for (int c = 0; c < kind.length; c++) {
                if (row.isNullAt(c + 1)) {
                    continue;
                }
                put(b, c, perBlock(kind[c]) ? 0 : slot, row.getDouble(c + 1));
            }
        }

        private void put(Block b, int c, int slot, double v) {
            switch (op(kind[c])) {
                case 's':
                    b.value[c][slot] += v;
                    break;
                case 'n':
                    if (!b.seen[c][slot] || compare(v, b.value[c][slot]) < 0) {
                        b.value[c][slot] = v;
                    }
                    b.seen[c][slot] = true;
                    break;
                default: // 'x'
                    if (!b.seen[c][slot] || compare(v, b.value[c][slot]) > 0) {
                        b.value[c][slot] = v;
                    }
                    b.seen[c][slot] = true;
            }
        }

        Groups merge(Groups other) {
            for (Block o : other.blocks) {
                Block b = block(o.prefix, true);
                for (int slot = 0; slot < slots; slot++) {
                    if (o.n[slot] == 0) {
                        continue;
                    }
                    b.n[slot] += o.n[slot];
                    for (int c = 0; c < kind.length; c++) {
                        if (!perBlock(kind[c])) {
                            merge(o, b, c, slot);
                        }
                    }
                }
                for (int c = 0; c < kind.length; c++) {
                    if (perBlock(kind[c])) {
                        merge(o, b, c, 0);
                    }
                }
            }
            return this;
        }

        private void merge(Block from, Block into, int c, int slot) {
            if (op(kind[c]) == 's' || from.seen[c][slot]) {
                put(into, c, slot, from.value[c][slot]);
            }
        }

        byte[] encode() {
            int used = 0;
            int flagged = 0;
            for (char k : kind) {
                flagged += op(k) == 's' ? 0 : 1;
            }
            List<Block> sorted = new ArrayList<>(blocks);
            sorted.sort((a, b) -> Long.compare(a.prefix, b.prefix));
            for (Block b : sorted) {
                for (long count : b.n) {
                    used += count == 0 ? 0 : 1;
                }
            }
            long size = 8 + (long) used * (16 + 8L * kind.length + flagged);
            ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(size));
            out.order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(used);
            for (Block b : sorted) {
                for (int s = 0; s < slots; s++) {
                    if (b.n[s] != 0) {
                        out.putLong(b.prefix * slots + s);
                    }
                }
            }
            for (Block b : sorted) {
                for (int s = 0; s < slots; s++) {
                    if (b.n[s] != 0) {
                        out.putLong(b.n[s]);
                    }
                }
            }
            for (Block b : sorted) {
                b.first = -1;
                for (int s = 0; s < slots && b.first < 0; s++) {
                    b.first = b.n[s] != 0 ? s : -1;
                }
            }
            // A per-block column: the block's value at its first slot, 0 and unseen elsewhere.
            for (int c = 0; c < kind.length; c++) {
                boolean whole = perBlock(kind[c]);
                for (Block b : sorted) {
                    for (int s = 0; s < slots; s++) {
                        if (b.n[s] != 0) {
                            out.putDouble(!whole ? b.value[c][s] : s == b.first ? b.value[c][0] : 0);
                        }
                    }
                }
            }
            for (int c = 0; c < kind.length; c++) {
                if (op(kind[c]) == 's') {
                    continue;
                }
                boolean whole = perBlock(kind[c]);
                for (Block b : sorted) {
                    for (int s = 0; s < slots; s++) {
                        if (b.n[s] != 0) {
                            boolean seen = whole ? s == b.first && b.seen[c][0] : b.seen[c][s];
                            out.put((byte) (seen ? 1 : 0));
                        }
                    }
                }
            }
            return out.array();
        }
    }
}
