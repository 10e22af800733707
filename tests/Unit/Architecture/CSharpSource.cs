using System.Text;
using System.Text.RegularExpressions;

namespace RedLockNet.Tests.Unit.Architecture;

/// <summary>
/// Just enough C# lexing to find the names code uses: comments, string and char literals and preprocessor lines
/// become spaces (line breaks stay, so line numbers hold); the code inside interpolation holes is kept.
/// </summary>
internal static partial class CSharpSource
{
    public static string StripCommentsAndStrings(string text)
    {
        var lexer = new Lexer(text);
        lexer.Code(inHole: false);
        return lexer.Output.ToString();
    }

    /// <summary>Each identifier in stripped code with the line it first appears on (1-based).</summary>
    public static Dictionary<string, int> Words(string code)
    {
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        var line = 1;
        var at = 0;
        foreach (Match match in Identifier().Matches(code))
        {
            for (; at < match.Index; at++)
            {
                if (code[at] == '\n')
                {
                    line++;
                }
            }

            words.TryAdd(match.Value.TrimStart('@'), line);
        }

        return words;
    }

    [GeneratedRegex(@"@?\b[A-Za-z_][A-Za-z0-9_]*\b")]
    private static partial Regex Identifier();

    private sealed class Lexer(string s)
    {
        private int _i;

        public StringBuilder Output { get; } = new(s.Length);

        private char At(int i) => i < s.Length ? s[i] : '\0';

        private void Keep() => Output.Append(s[_i++]);

        private void Blank() => Output.Append(s[_i++] == '\n' ? '\n' : ' ');

        private void Blank(int count)
        {
            for (var k = 0; k < count && _i < s.Length; k++)
            {
                Blank();
            }
        }

        // Copies code up to the end or, inside an interpolation hole, up to the brace that closes the hole.
        public void Code(bool inHole)
        {
            var depth = 0;
            while (_i < s.Length)
            {
                var c = s[_i];
                if (c == '/' && At(_i + 1) == '/')
                {
                    while (_i < s.Length && s[_i] != '\n')
                    {
                        Blank();
                    }
                }
                else if (c == '/' && At(_i + 1) == '*')
                {
                    Blank(2);
                    while (_i < s.Length && !(s[_i] == '*' && At(_i + 1) == '/'))
                    {
                        Blank();
                    }

                    Blank(2);
                }
                else if (c == '#' && !inHole && AtLineStart())
                {
                    while (_i < s.Length && s[_i] != '\n')
                    {
                        Blank();
                    }
                }
                else if (c == '\'')
                {
                    CharLiteral();
                }
                else if (StringStart() is { } prefix)
                {
                    StringLiteral(prefix);
                }
                else if (inHole && c is '(' or '[' or '{')
                {
                    depth++;
                    Keep();
                }
                else if (inHole && c is ')' or ']' or '}')
                {
                    if (depth == 0)
                    {
                        return; // the caller blanks the closing brace(s)
                    }

                    depth--;
                    Keep();
                }
                else if (inHole && c == ':' && depth == 0 && At(_i + 1) != ':')
                {
                    // format specifier: text up to the closing brace
                    while (_i < s.Length && s[_i] != '}')
                    {
                        Blank();
                    }
                }
                else
                {
                    Keep();
                }
            }
        }

        private bool AtLineStart()
        {
            for (var k = _i - 1; k >= 0 && s[k] != '\n'; k--)
            {
                if (!char.IsWhiteSpace(s[k]))
                {
                    return false;
                }
            }

            return true;
        }

        private void CharLiteral()
        {
            Blank(); // opening quote
            if (At(_i) == '\\')
            {
                Blank(2);
            }

            while (_i < s.Length && s[_i] != '\'' && s[_i] != '\n')
            {
                Blank();
            }

            Blank(); // closing quote
        }

        // "$@" style prefix of a string literal starting here, or null
        private (int Dollars, bool Verbatim, int Length)? StringStart()
        {
            var j = _i;
            var dollars = 0;
            var verbatim = false;
            if (At(j) == '@')
            {
                verbatim = true;
                j++;
            }

            while (At(j) == '$')
            {
                dollars++;
                j++;
            }

            if (!verbatim && At(j) == '@')
            {
                verbatim = true;
                j++;
            }

            return At(j) == '"' ? (dollars, verbatim, j - _i) : null;
        }

        private void StringLiteral((int Dollars, bool Verbatim, int Length) prefix)
        {
            Blank(prefix.Length);
            var quotes = 0;
            while (At(_i + quotes) == '"')
            {
                quotes++;
            }

            if (quotes >= 3)
            {
                RawString(quotes, prefix.Dollars);
                return;
            }

            Blank(); // opening quote
            while (_i < s.Length)
            {
                var c = s[_i];
                if (!prefix.Verbatim && c == '\\')
                {
                    Blank(2);
                }
                else if (c == '"' && prefix.Verbatim && At(_i + 1) == '"')
                {
                    Blank(2);
                }
                else if (c == '"')
                {
                    Blank();
                    return;
                }
                else if (prefix.Dollars > 0 && c is '{' or '}' && At(_i + 1) == c)
                {
                    Blank(2); // {{ and }} stand for braces
                }
                else if (prefix.Dollars > 0 && c == '{')
                {
                    Hole(1);
                }
                else if (!prefix.Verbatim && c == '\n')
                {
                    return; // unterminated: do not swallow the file
                }
                else
                {
                    Blank();
                }
            }
        }

        private void RawString(int quotes, int dollars)
        {
            Blank(quotes);
            while (_i < s.Length)
            {
                var run = 0;
                while (At(_i + run) == '"')
                {
                    run++;
                }

                if (run >= quotes)
                {
                    Blank(run);
                    return;
                }

                var braces = 0;
                while (dollars > 0 && At(_i + braces) == '{')
                {
                    braces++;
                }

                if (dollars > 0 && braces >= dollars)
                {
                    Blank(braces - dollars); // literal braces before the hole
                    Hole(dollars);
                }
                else
                {
                    Blank(Math.Max(1, Math.Max(run, braces)));
                }
            }
        }

        private void Hole(int braces)
        {
            Blank(braces);
            Code(inHole: true);
            for (var k = 0; k < braces && At(_i) == '}'; k++)
            {
                Blank();
            }
        }
    }
}
