// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` placeholders are written literally, as configs do
import { describe, expect, it } from "vitest";
import { passwordAssignment } from "../../../src/classify/detectors/password-assignment.js";
import { found, values } from "./fakes.js";

describe("passwordAssignment", () => {
  it("finds the value of password=, without the key, with score 0.8", () => {
    expect(passwordAssignment.find("password=hunter2")).toEqual([{ start: 9, end: 16, score: 0.8 }]);
  });

  it("finds values in quotes without the quotes", () => {
    const text = `PASSWORD: "s3cr3t!"\n{"password": "correct horse"}\npassword = 'Sh0rt-cut'\nconst cfg = { password: \`Tr0ub4dor\` }`;
    expect(values(passwordAssignment, text)).toEqual(["s3cr3t!", "correct horse", "Sh0rt-cut", "Tr0ub4dor"]);
  });

  it("finds keys that end in password, passwd, pwd, passphrase, or a separate pass", () => {
    const text = [
      "DB_PASSWORD=Sup3rS3cret",
      "PGPASSWORD=pgS3cret9",
      "MYSQL_ROOT_PASSWORD=r00tr00t",
      "userPassword: 'Kx9-Lm2!'",
      "passwd=abcd9876",
      "pwd=zx81spec",
      'ssh_passphrase = "long phrase here"',
      "SMTP_PASS=m4ilm4il",
      "spring.datasource.password=jdbcS3cret",
      ":password => 'rubyS3cret'",
      '$password = "phpS3cret";',
    ].join("\n");
    expect(values(passwordAssignment, text)).toEqual([
      "Sup3rS3cret",
      "pgS3cret9",
      "r00tr00t",
      "Kx9-Lm2!",
      "abcd9876",
      "zx81spec",
      "long phrase here",
      "m4ilm4il",
      "jdbcS3cret",
      "rubyS3cret",
      "phpS3cret",
    ]);
  });

  it("finds command-line flags with = or a space, and XML elements", () => {
    const text =
      "mysql -u root --password hunter22 -h db.internal\npsql --password=pgpass99\n<password>Tr0ub4dor&3</password>";
    expect(values(passwordAssignment, text)).toEqual(["hunter22", "pgpass99", "Tr0ub4dor&3"]);
  });

  it("finds values in raw JSON whose quotes are escaped", () => {
    const text = '{"arguments": "{\\"user\\": \\"app\\", \\"password\\": \\"q8!Lz0p\\"}"}';
    expect(values(passwordAssignment, text)).toEqual(["q8!Lz0p"]);
  });

  it("ends an unquoted value at whitespace or a delimiter", () => {
    const text = "login?user=bob&password=hunter22&next=/home\nconnect(password=abcd1234, user=app)";
    expect(values(passwordAssignment, text)).toEqual(["hunter22", "abcd1234"]);
  });

  it("scores a bare `key: value` 0.7, and needs the value to end its line", () => {
    expect(found(passwordAssignment, "password: hunter22 # staging")).toEqual([
      { value: "hunter22", score: 0.7 },
    ]);
    expect(passwordAssignment.find("Password: must be at least 8 characters")).toEqual([]);
  });

  it("does not flag prose, keys that go on, or comparisons", () => {
    const text = [
      "reset your password to continue",
      "Forgot your password? Click here.",
      "password_hash=$2b$12$abcdefghijklmnopqrstuv",
      "PASSWORD_MIN_LENGTH=12",
      "DB_PASSWORD_FILE=/run/secrets/db",
      "docker login --password-stdin",
      "if password == 'hunter2':",
      "passwords=many",
      "bypass=enabled1",
      "compass=north99",
    ].join("\n");
    expect(passwordAssignment.find(text)).toEqual([]);
  });

  it("does not flag placeholders", () => {
    const text = [
      "password=",
      'password=""',
      "password=***",
      "password: ********",
      "password: <password>",
      "password=${DB_PASSWORD}",
      "password=$DB_PASSWORD",
      "password: {{ .Values.db.password }}",
      "password: ${{ secrets.DB_PASSWORD }}",
      "password=%DB_PASSWORD%",
      "password=changeme",
      "password=your_password_here",
      'password: "xxxxxxxx"',
      "password: null",
      "password: REDACTED",
      "password=[hidden]",
      'password="..."',
    ].join("\n");
    expect(passwordAssignment.find(text)).toEqual([]);
  });

  it("does not flag references in code, paths, or values under 4 characters", () => {
    const text = [
      "conn = connect(password=password)",
      "conn = connect(password=cfg.db.password)",
      "password = os.environ['DB_PASSWORD']",
      "password = getpass.getpass()",
      "password = hashed",
      "user.password = db_pass",
      "{ password: hashed }",
      "password: str",
      "PWD=/home/app",
      "password=abc",
    ].join("\n");
    expect(passwordAssignment.find(text)).toEqual([]);
  });
});
