package io.vlaserve.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.tokenizer.ProfileRegistry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeCommandTest {
  private static final String STATS = """
      {"bridge_orig": {"action": {"q01": [-0.02872725307941437, -0.04170349963009357, -0.026093858778476715,
        -0.08092105075716972, -0.09288699507713317, -0.20718276381492615, 0.0],
        "q99": [0.028309678435325586, 0.040855254605412394, 0.040161586627364146, 0.08192047759890528,
        0.07792850524187081, 0.20382574498653397, 1.0],
        "min": [-0.4, -0.13, -0.22, -3.2, -1.86, -6.27, 0.0], "max": [0.41, 0.25, 0.21, 3.12, 1.86, 6.28, 1.0],
        "mask": [true, true, true, true, true, true, false]}},
       "other": {"action": {"q01": [0], "q99": [1]}}}
      """;

  record Result(int exit, String out, String err) {}

  static Result run(String stdin, String... args) {
    InputStream oldIn = System.in;
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      var commandLine = VlaCommand.commandLine();
      commandLine.setErr(new java.io.PrintWriter(System.err, true));
      int exit = commandLine.execute(args);
      return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setIn(oldIn);
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void encodeWithOpenVlaStatisticsAnswersEveryLineInPlace(@TempDir Path dir) throws Exception {
    Path stats = dir.resolve("dataset_statistics.json");
    Files.writeString(stats, STATS);
    String input = """
        {"action":[0.01,-0.02,0.03,0.05,-0.05,0.1,1]}
        {"action":[0,0,NaN,0,0,0,1]}
        {"tokens":[1]}
        {"action":[-1e300,1e300,0,-0.0,0,0,0]}
        """;
    Result result = run(input, "tokenize", "encode", "--scheme", "openvla", "--stats", stats.toString(),
        "--unnorm-key", "bridge_orig");
    List<String> lines = result.out().lines().toList();
    assertEquals(4, lines.size(), result.out());
    assertEquals("{\"tokens\":[31826,31932,31784,31794,31935,31809,31744]}", lines.get(0));
    assertEquals("{\"error\":\"line 2: action[0][2] (dz): NaN (expected: a finite number)\"}", lines.get(1));
    assertEquals("{\"error\":\"line 3: no \\\"action\\\" field (expected: {\\\"action\\\": [...]})\"}", lines.get(2));
    assertEquals("{\"tokens\":[31999,31744,31899,31873,31861,31871,31872]}", lines.get(3));
    assertEquals(1, result.exit(), "a failed line makes the exit status 1");
  }

  @Test
  void missingOrAmbiguousUnnormKeyListsTheKeys(@TempDir Path dir) throws Exception {
    Path stats = dir.resolve("dataset_statistics.json");
    Files.writeString(stats, STATS);
    Result ambiguous = run("", "tokenize", "encode", "--scheme", "openvla", "--stats", stats.toString());
    assertEquals(2, ambiguous.exit());
    assertTrue(ambiguous.err().contains("choose one with --unnorm-key (known: bridge_orig, other)"), ambiguous.err());
    Result missing = run("", "tokenize", "decode", "--scheme", "openvla", "--stats", stats.toString(),
        "--unnorm-key", "libero_spatial");
    assertEquals(2, missing.exit());
    assertTrue(missing.err().contains("unnorm key \"libero_spatial\" not found (known: bridge_orig, other)"), missing.err());
  }

  @Test
  void decodePrintsDoublesThatRoundTripExactly() {
    Result result = run("{\"tokens\":[31800,32100,32300,32600,32800,33100,33400]}\n{\"tokens\":[31800]}\n",
        "tokenize", "decode", "--profile", "eef-delta-7dof");
    List<String> lines = result.out().lines().toList();
    double[] expected = ProfileRegistry.builtin("eef-delta-7dof").tokenizer()
        .decode(new int[] {31800, 32100, 32300, 32600, 32800, 33100, 33400});
    String body = lines.get(0).substring("{\"action\":[".length(), lines.get(0).length() - 2);
    String[] printed = body.split(",");
    for (int d = 0; d < 7; d++) {
      assertEquals(expected[d], Double.parseDouble(printed[d]), "bit-exact after printing");
    }
    assertEquals("{\"error\":\"line 2: 1 tokens (expected: 7 for profile eef-delta-7dof)\"}", lines.get(1));
    assertEquals(1, result.exit());
  }

  @Test
  void profileFilesAreAcceptedByPath(@TempDir Path dir) throws Exception {
    Path profile = dir.resolve("my-robot.json");
    Files.writeString(profile, """
        {"name": "my-robot", "scheme": "uniform", "bins": 4, "token_layout": "per_dimension", "vocab_base": 100,
         "dimensions": [{"name": "a", "low": 0, "high": 1}, {"name": "b", "low": -1, "high": 1}]}
        """);
    Result result = run("{\"action\":[0.1,0.9]}\n{\"action\":[1,-1]}\n", "tokenize", "encode", "--profile", profile.toString());
    assertEquals("{\"tokens\":[100,107]}\n{\"tokens\":[103,104]}\n", result.out());
    assertEquals(0, result.exit());
  }

  @Test
  void manyLinesStreamThroughWithAnswersAligned() throws Exception {
    int count = 200_000;
    JsonLinesTokenizer lines = new JsonLinesTokenizer(ProfileRegistry.builtin("eef-delta-7dof").tokenizer(),
        JsonLinesTokenizer.Direction.ENCODE);
    Reader generated = new Reader() {
      private int line;
      private String current = "";
      private int pos;

      @Override
      public int read(char[] buffer, int off, int len) {
        if (pos == current.length()) {
          if (line == count) {
            return -1;
          }
          current = line % 1000 == 999 ? "{\"action\":[1]}\n"
              : "{\"action\":[" + (line % 100) / 1000.0 + ",0,0,0,0,0,1]}\n";
          line++;
          pos = 0;
        }
        int n = Math.min(len, current.length() - pos);
        current.getChars(pos, pos + n, buffer, off);
        pos += n;
        return n;
      }

      @Override
      public void close() {}
    };
    long[] written = new long[2];
    Writer counting = new Writer() {
      @Override
      public void write(char[] buffer, int off, int len) {
        for (int i = off; i < off + len; i++) {
          if (buffer[i] == '\n') {
            written[0]++;
          }
          if (buffer[i] == 'e' && i + 4 < off + len && buffer[i + 1] == 'r' && buffer[i + 2] == 'r') {
            written[1]++;
          }
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    long failed = lines.run(new BufferedReader(generated), counting);
    assertEquals(count, written[0], "one answer per input line");
    assertEquals(count / 1000, failed);
    assertEquals(count / 1000, written[1], "each failed line answered with an error");
  }

  @Test
  void noTokenizerChosenSaysWhatToPass() {
    Result result = run("", "tokenize", "encode");
    assertEquals(2, result.exit());
    assertTrue(result.err().contains("expected: --profile FILE|NAME, or --scheme openvla --stats FILE"), result.err());
  }
}
