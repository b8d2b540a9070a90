import { describe, expect, it } from "vitest";
import { dateOfBirthDetector } from "../../../src/classify/detectors/date-of-birth.js";

const values = (text: string) => dateOfBirthDetector.find(text).map((m) => text.slice(m.start, m.end));

describe("dateOfBirthDetector", () => {
  it("is the pii kind date_of_birth", () => {
    expect(dateOfBirthDetector.kind).toBe("date_of_birth");
    expect(dateOfBirthDetector.group).toBe("pii");
  });

  it("spans the date alone, at score 0.85", () => {
    expect(dateOfBirthDetector.find("DOB: 1984-03-02")).toEqual([{ start: 5, end: 15, score: 0.85 }]);
  });

  it("reads ISO, day- or month-first numeric and written-out dates", () => {
    expect(
      values(
        "born 1984-03-02; born 31/01/1984; born 01/31/1984; born 31.01.84; born 2 March 1984; born March 2, 1984; born 2nd Mar. 1984",
      ),
    ).toEqual([
      "1984-03-02",
      "31/01/1984",
      "01/31/1984",
      "31.01.84",
      "2 March 1984",
      "March 2, 1984",
      "2nd Mar. 1984",
    ]);
  });

  it("understands German, French, Spanish and identifier spellings of the context", () => {
    expect(
      values(
        'geboren am 02.03.1984; geb. 7. Mai 1961; née le 2 mars 1984; fecha de nacimiento: 23/04/1988; {"dateOfBirth":"1990-12-10"}; birth_date=1975-07-04',
      ),
    ).toEqual(["02.03.1984", "7. Mai 1961", "2 mars 1984", "23/04/1988", "1990-12-10", "1975-07-04"]);
  });

  it("finds a date just before its context word", () => {
    expect(values("1984-03-02 (date of birth)")).toEqual(["1984-03-02"]);
    expect(values("due 2024-05-01, born in 2019")).toEqual([]);
  });

  it("ignores dates without a birth word, and birth words without a date", () => {
    expect(values("Deadline 2024-05-01. Born in Manchester in 1990.")).toEqual([]);
  });

  it("stays within the sentence of its context word", () => {
    expect(values("The project was born in 2019; release 2024-01-31")).toEqual([]);
    expect(values("It was born of frustration. Launch: March 2, 2015")).toEqual([]);
  });

  it("rejects impossible dates, future years and years before 1900", () => {
    expect(values("DOB 1984-02-30; DOB 1984-13-01; DOB 2099-01-01; DOB 1850-01-01; DOB 1983-02-29")).toEqual(
      [],
    );
    expect(values("DOB 1984-02-29")).toEqual(["1984-02-29"]);
  });

  it("does not take a timestamp for a birth date", () => {
    expect(values("dob 2024-05-01T12:30:45Z")).toEqual([]);
  });

  it("needs the context word to stand alone", () => {
    expect(values("stubborn 2023-11-02, reborn 2022-07-01, newborn 2021-01-15")).toEqual([]);
  });
});
