// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` placeholders are written literally, as configs do
import { describe, expect, it } from "vitest";
import { connectionString } from "../../../src/classify/detectors/connection-string.js";
import { fakes, found, values } from "./fakes.js";

const fake = fakes(53);

describe("connectionString", () => {
  it("finds a database URI with a password whole, with score 0.9", () => {
    const uri = `postgres://app:${fake.token(16)}@db.internal:5432/app?sslmode=require`;
    const text = `DATABASE_URL=${uri}\n`;
    expect(connectionString.find(text)).toEqual([{ start: 13, end: 13 + uri.length, score: 0.9 }]);
  });

  it("finds URIs of any scheme, jdbc: prefixes and empty user names included", () => {
    const uris = [
      `postgresql://report:${fake.token(12)}@pg.internal/report`,
      `mysql://root:${fake.token(12)}@mysql.internal:3306/shop`,
      `mongodb+srv://svc:${fake.token(12)}@cluster0.mongo.internal/app?retryWrites=true&w=majority`,
      `mongodb://u:${fake.token(12)}@h1.internal:27017,h2.internal:27017/db?replicaSet=rs0`,
      `redis://:${fake.token(12)}@cache.internal:6379/0`,
      `rediss://default:${fake.token(12)}@cache.internal:6380`,
      `amqps://worker:${fake.token(12)}@mq.internal/vhost`,
      `jdbc:mysql://app:${fake.token(12)}@mysql.internal:3306/app`,
      `sqlserver://sa:${fake.token(12)}@mssql.internal:1433?database=app`,
      `https://deploy:${fake.token(12)}@registry.internal/v2/`,
    ];
    expect(values(connectionString, uris.join("\n"))).toEqual(uris);
  });

  it("takes the last @ of the authority, as URL parsers do, and an IPv6 host in brackets", () => {
    const uris = ["postgres://app:p@ss@db.internal/app", "postgres://app:hunter22@[fd00::5]:5432/app"];
    expect(values(connectionString, uris.join(" "))).toEqual(uris);
  });

  it("ends the URI at a quote, whitespace, or trailing punctuation", () => {
    const uri = `redis://:${fake.token(10)}@cache.internal:6379`;
    expect(values(connectionString, `Use "${uri}", or (${uri}). Then ${uri}.`)).toEqual([uri, uri, uri]);
  });

  it("does not flag URIs without a password, or with a placeholder for one", () => {
    const text = [
      "postgres://app@db.internal/app",
      "https://example.com/path?x=1",
      "postgres://app:@db.internal/app",
      "postgres://app:${DB_PASSWORD}@db.internal/app",
      "mysql://user:<password>@localhost/db",
      "mysql://user:password@localhost/db",
      "amqp://guest:***@mq.internal",
      "redis://:%24%7BREDIS_PASSWORD%7D@cache.internal",
      "http://[::1]:8080/health",
    ].join("\n");
    expect(connectionString.find(text)).toEqual([]);
  });

  it("leaves a vendor token used as a URL password to its own detector", () => {
    const text = `git clone https://oauth2:glpat-${fake.token(20)}@gitlab.com/acme/app.git`;
    expect(connectionString.find(text)).toEqual([]);
  });

  it("finds ADO.NET key-value strings whole, from the first key", () => {
    const ado = `Server=tcp:sql.internal,1433;Initial Catalog=app;User ID=app;Password=${fake.token(14)};Encrypt=True`;
    expect(found(connectionString, `"DefaultConnection": "${ado}"`)).toEqual([{ value: ado, score: 0.9 }]);
  });

  it("finds ODBC and Npgsql strings, JDBC URLs with key-value settings, and env assignments of them", () => {
    const strings = [
      `Driver={ODBC Driver 18 for SQL Server};Server=sql.internal;Database=app;Uid=app;Pwd=${fake.token(12)}`,
      `Host=pg.internal;Port=5432;Username=app;Password=${fake.token(12)}`,
      `jdbc:sqlserver://sql.internal:1433;databaseName=app;user=sa;password=${fake.token(12)};encrypt=true`,
      `Data Source=sql.internal;User Id=app;Password = ${fake.token(12)}`,
    ];
    const text = `${strings[0]}\n${strings[1]}\n${strings[2]}\nexport CONN=${strings[3]}`;
    expect(values(connectionString, text)).toEqual(strings);
  });

  it("does not flag key-value strings without a password or a server, or with a placeholder", () => {
    const text = [
      "Server=sql.internal;Database=app;Integrated Security=True",
      `User=app;Password=${fake.token(12)}`,
      "Server=sql.internal;Database=app;User Id=app;Password=${DB_PASSWORD}",
      "Server=sql.internal;Database=app;User Id=app;Password=;",
      `Password=${fake.token(12)}`,
      "a=1; b=2; password = is required",
    ].join("\n");
    expect(connectionString.find(text)).toEqual([]);
  });
});
