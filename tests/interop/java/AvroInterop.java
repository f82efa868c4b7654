// Apache Avro's own single-object encoder and decoder, driven line by line over stdin.
// Run with the single-file source launcher:
//   java -cp 'tests/interop/java/libs/*' tests/interop/java/AvroInterop.java encode|decode
//
//   encode: "<schema .avsc path>\t<datum in Avro's JSON encoding>" -> hex of
//           BinaryMessageEncoder's message (C3 01 + fingerprint + body)
//   decode: "<schema .avsc path>\t<hex of a message>" -> the datum BinaryMessageDecoder
//           read, in Avro's JSON encoding
//
// Any failure (an unknown fingerprint included) ends the run with a non-zero exit and
// Avro's exception on stderr.

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;

public class AvroInterop {
  private static final Map<String, Schema> SCHEMAS = new HashMap<>();

  private static Schema schema(String path) throws IOException {
    Schema schema = SCHEMAS.get(path);
    if (schema == null) {
      schema = new Schema.Parser().parse(new File(path));
      SCHEMAS.put(path, schema);
    }
    return schema;
  }

  private static String encode(Schema schema, String json) throws IOException {
    GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(schema);
    GenericRecord datum = reader.read(null, DecoderFactory.get().jsonDecoder(schema, json));
    ByteBuffer message = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), schema).encode(datum);
    byte[] bytes = new byte[message.remaining()];
    message.get(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  private static String decode(Schema schema, String hex) throws IOException {
    BinaryMessageDecoder<GenericRecord> decoder = new BinaryMessageDecoder<>(GenericData.get(), schema);
    GenericRecord datum = decoder.decode(HexFormat.of().parseHex(hex));
    ByteArrayOutputStream json = new ByteArrayOutputStream();
    JsonEncoder encoder = EncoderFactory.get().jsonEncoder(schema, json);
    new GenericDatumWriter<GenericRecord>(schema).write(datum, encoder);
    encoder.flush();
    return json.toString(StandardCharsets.UTF_8);
  }

  public static void main(String[] args) throws IOException {
    if (args.length != 1 || !(args[0].equals("encode") || args[0].equals("decode"))) {
      System.err.println("usage: AvroInterop encode|decode < lines");
      System.exit(2);
    }
    boolean encoding = args[0].equals("encode");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isEmpty()) {
        continue;
      }
      String[] parts = line.split("\t", 2);
      Schema schema = schema(parts[0]);
      out.println(encoding ? encode(schema, parts[1]) : decode(schema, parts[1]));
    }
  }
}
