package indirect

import (
	"math"
	"unicode/utf8"

	"github.com/llmguard/caddy-llmguard/llmguard/asciifold"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/normalize"
)

// The features say whether a text contains an instruction addressed to the assistant that
// reads it, not whether it contains instructions: documents are full of ordinary
// imperatives ("click here to unsubscribe", "please reply by Friday", "preheat the oven",
// "run make install"), which address the human reader. What sets an embedded instruction
// apart is its addressee and its object — the model's own response ("add … to your
// answer"), its instructions ("ignore the above"), a reader that processes the text ("if
// the user asks for a summary", "note to AI"), fake conversation turns, hidden text, or a
// request to send data somewhere. Each feature is one of these cues, so a finding names
// them, and the model's weights stay few enough to read.

// feature indices; featureNames lists them in the same order (the model file records the
// names, so a reordering is caught when the model is loaded).
const (
	fOverride        = iota // ignore/disregard/forget … the above / previous / this data / instructions
	fYourOutput             // "your answer / response / reply / summary / code …"
	fVerbYourOutput         // an imperative sentence about the reader's output: "add X to your response"
	fImperative             // sentences that open with an instruction verb
	fAIAddress              // "note to AI", "dear assistant", "if you are an LLM", "AI agent:"
	fAIWord                 // any word naming an AI reader
	fRoleLine               // a line that opens as a conversation turn: "System:", "Assistant:", "[user]"
	fChatMarker             // <|im_start|>, [INST], <<SYS>>, "end of session"
	fWhenAsked              // "if the user asks …", "when you summarise this …", "if questioned …"
	fPrintQuote             // print / repeat / say … followed by a quote or "the following"
	fOnlyOutput             // "reply with only …", "nothing else", "exclusively", "verbatim"
	fSendURL                // send / forward / post / upload … in a sentence with a URL or address
	fVisitURL               // visit / click / download / install … in a sentence with a URL
	fMarkdownImage          // ![…](http…): a reply that renders it fetches the URL
	fImageQuery             // … with a query string, which can carry the conversation out
	fURLQuery               // any URL with a query string
	fHidden                 // HTML comment with words, display:none, font-size:0, white text
	fInvisible              // zero-width, bidi or tag characters
	fUrgent                 // important, imperative, critical, must, immediately …
	fConceal                // "do not tell / mention / reveal …", "without telling", "secretly"
	fNewTask                // "from now on", "new instructions", "new task"
	fPlaceholder            // <summary of the above>, [salient summary]: a template of a fake turn
	fYouMust                // "you must / should / need to / are required to"
	fAssertThat             // "report / say / state / answer … that …"
	fFollowingCode          // "the following code block / snippet / section"
	fUserWord               // "the user", "users": documents rarely speak of the reader that way
	fOverrideCommand        // the override is a command: it opens its sentence ("Ignore the above directions and …")
	fLogWords               // length, so that long documents are not flagged for scattered cues
	numFeatures
)

var featureNames = [numFeatures]string{
	"override", "your_output", "verb_your_output", "imperative", "ai_address", "ai_word",
	"role_line", "chat_marker", "when_asked", "print_quote", "only_output", "send_url",
	"visit_url", "markdown_image", "image_query", "url_query", "hidden", "invisible",
	"urgent", "conceal", "new_task", "placeholder", "you_must", "assert_that",
	"following_code", "user_word", "override_command", "log_words",
}

// word classes, a bit each.
const (
	cOverride uint32 = 1 << iota
	cScope
	cObject
	cYour
	cOutput
	cModVerb
	cPrintVerb
	cAI
	cRole
	cSendVerb
	cLinkVerb
	cUrgent
	cCond
	cReader
	cProcess
	cNeg
	cTell
	cModal
	cOnly
	cVocative
	cCode
	cCodeUnit
	cPlease
	cSpeaker
	cOpener
	cKeyword
)

// lexicon maps a lower-cased word to its classes and, for the words the cues compare
// one by one, its name (one map lookup per word serves both).
var lexicon = map[string]entry{}

type entry struct {
	class uint32
	name  uint8
}

// Words the cues compare one by one (token.is); wNone is none of them.
const (
	wNone uint8 = iota
	wAn
	wEnd
	wZero
	wAnd
	wAre
	wAsked
	wBelow
	wColor
	wConclude
	wCovertly
	wDisplay
	wFollowing
	wFrom
	wHidden
	wMust
	wMy
	wNew
	wNoneWord
	wNow
	wOf
	wOn
	wOpacity
	wQuestioned
	wRequired
	wSecretly
	wSilently
	wSize
	wSubsequent
	wThat
	wThe
	wTransparent
	wUser
	wUserPoss
	wUsers
	wVisibility
	wWhite
	wYou
)

var names = map[uint8]string{wAn: "an", wEnd: "end", wZero: "0", wAnd: "and", wAre: "are", wAsked: "asked", wBelow: "below", wColor: "color", wConclude: "conclude", wCovertly: "covertly", wDisplay: "display", wFollowing: "following", wFrom: "from", wHidden: "hidden", wMust: "must", wMy: "my", wNew: "new", wNoneWord: "none", wNow: "now", wOf: "of", wOn: "on", wOpacity: "opacity", wQuestioned: "questioned", wRequired: "required", wSecretly: "secretly", wSilently: "silently", wSize: "size", wSubsequent: "subsequent", wThat: "that", wThe: "the", wTransparent: "transparent", wUser: "user", wUserPoss: "user's", wUsers: "users", wVisibility: "visibility", wWhite: "white", wYou: "you"}

func init() {
	add := func(c uint32, words ...string) {
		for _, w := range words {
			e := lexicon[w]
			e.class |= c
			lexicon[w] = e
		}
	}
	add(cOverride, "ignore", "ignoring", "disregard", "forget", "skip", "override", "bypass", "neglect", "dismiss", "abandon", "drop", "stop",
		"ignoriere", "ignorieren", "vergiss", "vergessen", "missachte", "ignorez", "oublie", "oubliez", "ignora", "olvida", "dimentica")
	add(cScope, "above", "previous", "prior", "earlier", "preceding", "rest", "other", "all", "any", "this", "these", "those", "original", "everything", "your")
	add(cObject, "instructions", "instruction", "directions", "direction", "prompt", "prompts", "rules", "guidelines", "context",
		"data", "content", "text", "information", "info", "task", "document", "documents", "commands", "request", "question", "everything",
		"anweisungen", "anweisung", "vorgaben", "regeln", "nutzer", "benutzer", "consignes", "instrucciones", "istruzioni", "utilisateur", "usuario")
	add(cYour, "your")
	add(cOutput, "response", "responses", "answer", "answers", "reply", "replies", "output", "summary", "summaries", "code",
		"codebase", "solution", "implementation", "translation", "analysis", "result", "results", "report", "script", "program",
		"review", "assessment", "evaluation", "final")
	add(cModVerb, "add", "include", "insert", "append", "integrate", "incorporate", "embed", "replace", "remove", "rearrange",
		"introduce", "mention", "start", "begin", "end", "prepend", "put", "ensure", "make", "format", "translate", "use",
		"utilize", "recommend", "promote", "encourage", "advertise", "meld", "enlist", "inject", "change", "rewrite", "modify",
		"convert", "spell", "emphasize", "highlight", "conclude", "rank", "approve", "grant", "cancel", "confirm", "delete")
	add(cPrintVerb, "print", "repeat", "say", "output", "respond", "reply", "write", "display", "answer",
		"state", "report", "tell", "claim", "declare", "provide", "focus")
	add(cAI, "ai", "assistant", "assistants", "chatbot", "bot", "llm", "llms", "gpt", "chatgpt", "claude", "gemini",
		"copilot", "agent", "agents", "model", "ki", "ia", "asistente", "assistente", "assistent", "assistenten", "assistentin")
	add(cRole, "system", "assistant", "user", "human", "ai", "bot", "developer", "admin", "instruction", "instructions", "inst", "sys", "model")
	// Speakers of transcripts count as turns (see the role-line rule), never as a fake
	// system turn.
	add(cSpeaker, "user", "human", "assistant", "ai", "bot", "model", "agent", "customer", "support", "operator", "me", "you")
	// Verbs only: "email", "mail" and "post" are nouns in most documents (WHOIS records,
	// signatures, blogs).
	add(cSendVerb, "send", "forward", "upload", "transmit", "exfiltrate", "leak", "submit", "fetch", "curl", "wget",
		"requests", "sendall", "sendmail")
	add(cLinkVerb, "visit", "click", "download", "open", "navigate", "browse", "install", "go", "check", "run", "execute")
	// Not "must" or "required": documents state requirements ("you must use Node 20").
	add(cUrgent, "important", "importantly", "imperative", "critical", "urgent", "urgently", "immediately", "mandatory",
		"crucial", "attention", "warning", "essential")
	add(cCond, "if", "when", "whenever", "once", "before", "after", "while")
	add(cReader, "user", "users", "you", "anyone", "someone", "reader", "questioned", "asked", "prompted")
	add(cProcess, "asks", "ask", "asked", "summarize", "summarise", "summarizing", "summarising", "summary", "read", "reads",
		"reading", "process", "processing", "processes", "analyze", "analyse", "analyzing", "evaluate", "evaluating", "questioned",
		"translate", "translating", "review", "reviewing", "screen", "screening", "parse", "parsing")
	add(cNeg, "not", "don't", "dont", "never", "without", "no")
	add(cTell, "tell", "telling", "mention", "mentioning", "reveal", "revealing", "inform", "informing", "disclose", "notify", "alert", "show", "let")
	add(cModal, "must", "should", "need", "needs", "have", "shall", "required", "will")
	add(cOnly, "only", "exclusively", "verbatim", "solely", "nothing", "just")
	add(cVocative, "dear", "hey", "hello", "attention", "note", "to", "for", "any", "hinweis", "achtung", "nota", "an", "pour", "para")
	add(cCode, "code", "script", "snippet")
	add(cCodeUnit, "block", "section", "snippet", "excerpt", "segment", "fragment", "piece", "lines")
	add(cKeyword, "secretly", "silently", "covertly", "new", "from", "you", "conclude", "following", "subsequent",
		"below", "user", "users")
	// Words that open statements and questions, not commands.
	add(cOpener, "i", "we", "you", "he", "she", "it", "they", "this", "that", "these", "those", "the", "a", "an", "my", "our",
		"your", "his", "her", "their", "its", "if", "when", "thanks", "thank", "hi", "hello", "dear", "there", "here", "what",
		"how", "why", "where", "who", "which", "can", "could", "would", "will", "do", "does", "did", "is", "are", "was", "were",
		"in", "on", "at", "for", "to", "from", "with", "as", "and", "but", "or", "so", "also", "all", "each", "every", "some",
		"any", "no", "not", "once", "after", "before", "since", "because", "while", "yes", "ok")
	for id, w := range names {
		e := lexicon[w]
		e.name = id
		lexicon[w] = e
	}
	add(cPlease, "please", "now", "also", "then", "kindly", "just", "simply", "and")
	foreignCues(add)
}

// foreignCues adds German, French, Spanish, Italian and Portuguese words to the classes
// of the strongest cues — an override of the reader's instructions, a command about its
// response, an address to an AI — and the words that open statements (so that "Wir
// freuen uns auf Ihre Antwort" does not read as a command about the reader's reply). The
// cues' rules stay the English ones: "Ignorez toutes les instructions précédentes" is
// verb, determiners and object like "ignore all the previous instructions", and the model
// weighs a cue the same in any language (it was trained on English data; the foreign set,
// testdata/multilingual.jsonl, is only evaluated). Words that are common English words
// ("die", "su", "di", "ton") are left out of the classes where they would fire; "as",
// "le" and "la" are determiners only for the override rule, which reads them after an
// override verb alone.
// Non-ASCII capitals are not lower-cased by the tokenizer, so only lower-case forms of
// words that start with one ("übersetzung") can match; sentence-initial "Ü…" misses.
func foreignCues(add func(c uint32, words ...string)) {
	add(cOverride,
		"ignoriert", "vergesst", "missachten", "übergehe", // de
		"ignorer", "oublier", "négligez", // fr
		"ignore", "ignorad", "olvide", "olviden", "omite", "omita", "descarta", // es
		"ignorate", "dimenticate", "trascura", // it
		"esqueça", "esqueca", "esqueçam", "desconsidere", "desconsidera") // pt
	// Determiners and "previous/above" words, which the override rule walks over to its
	// object as over "all", "the", "previous".
	add(cScope,
		"alle", "allen", "vorherigen", "vorigen", "bisherigen", "obigen", "früheren", "vorstehenden", "der", "den", "dem",
		"toutes", "tous", "les", "précédentes", "précédents", "ci-dessus", "antérieures",
		"todas", "todos", "las", "los", "anteriores", "previas", "previos",
		"tutte", "tutti", "precedenti", "sopra", "le", "la", "gli", "lo", "el",
		"os", "as")
	add(cObject,
		"alles", "befehle", "instruktionen", "aufgaben", "daten", "richtlinien",
		"règles", "directives", "tout", "données",
		"reglas", "indicaciones", "todo", "datos", "normas",
		"regole", "indicazioni", "tutto", "dati",
		"instruções", "instrucoes", "regras", "orientações", "tudo", "dados")
	add(cYour,
		"dein", "deine", "deiner", "deinem", "deinen", "ihre", "ihrer", "ihrem", "ihren",
		"votre", "vos", "ta", "tes",
		"tu", "tus",
		"tua", "tuo", "tue", "tuoi", "vostra", "vostro",
		"sua", "seu", "teu")
	add(cOutput,
		"antwort", "antworten", "zusammenfassung", "ausgabe", "übersetzung", "bericht",
		"réponse", "réponses", "résumé", "sortie", "traduction", "rapport",
		"respuesta", "respuestas", "resumen", "salida", "traducción", "informe", "análisis",
		"risposta", "risposte", "riassunto", "traduzione", "analisi",
		"resposta", "respostas", "resumo", "saída", "tradução", "análise", "relatório")
	add(cModVerb,
		"füge", "fügen", "ergänze", "ergänzen", "erwähne", "empfiehl", "empfehle", "beginne", "beende", "ersetze", "fasse",
		"ajoute", "ajoutez", "inclus", "incluez", "insère", "insérez", "mentionne", "mentionnez", "recommande",
		"recommandez", "commence", "commencez", "termine", "terminez", "remplace", "remplacez", "indiquez",
		"añade", "añada", "agrega", "agregue", "incluye", "incluya", "menciona", "mencione", "recomienda", "recomiende",
		"comienza", "empieza", "reemplaza",
		"aggiungi", "aggiungete", "includi", "menziona", "raccomanda", "consiglia", "inizia", "sostituisci", "riassumi",
		"adicione", "adiciona", "inclua", "mencione", "recomende", "comece", "substitua", "resuma")
	add(cPrintVerb,
		"sage", "schreibe", "antworte", "gib",
		"dites", "écrivez", "écris", "répondez", "réponds",
		"dile", "diga", "escribe", "escriba", "responde", "responda",
		"scrivi", "rispondi",
		"escreva", "diga")
	add(cOnly, "nur", "ausschließlich", "wörtlich", "nichts", "seulement", "uniquement", "exclusivement", "rien",
		"solo", "sólo", "únicamente", "exclusivamente", "nada", "soltanto", "solamente", "esclusivamente", "apenas", "somente")
	add(cAI, "ki-assistent", "ki-assistenten", "ki-modell", "sprachmodell", "modèle", "modelo", "modello", "agente")
	add(cVocative, "liebe", "lieber", "hallo", "cher", "chère", "bonjour", "à", "au", "hola", "estimado", "estimada",
		"querido", "querida", "al", "caro", "cara", "gentile", "ciao", "attenzione", "prezado", "prezada", "olá", "ao",
		"remarque", "aviso", "avviso", "atención", "atenção")
	add(cUrgent, "wichtig", "dringend", "sofort", "achtung", "importante", "urgente", "immédiatement", "inmediatamente",
		"subito", "imediatamente", "attenzione", "atención", "atenção")
	add(cPlease, "bitte", "veuillez")
	add(cNeg, "nicht", "pas", "non", "não", "sin", "ohne", "sans", "senza", "sem")
	add(cTell, "erwähnen", "verrate", "mentionnez", "mentionner", "menciones", "mencionar", "menzionare", "mencione")
	add(cOpener,
		"ich", "wir", "sie", "er", "es", "das", "ein", "eine", "dies", "diese", "wenn", "falls", "vielen", "danke", "mit", "bei",
		"für", "nach", "und", "aber", "oder", "auch", "unser", "unsere", "je", "nous", "vous", "il", "elle", "ils", "le", "la",
		"un", "une", "ce", "cette", "ces", "si", "quand", "merci", "pour", "dans", "avec", "et", "mais", "ou", "notre", "nos",
		"yo", "usted", "el", "los", "las", "una", "este", "esta", "cuando", "gracias", "para", "en", "con", "y", "pero",
		"nuestro", "nuestra", "io", "noi", "lei", "lo", "gli", "questo", "questa", "se", "quando", "grazie", "e", "ma",
		"nostro", "nostra", "eu", "nós", "você", "o", "os", "um", "uma", "obrigado", "obrigada", "em", "com", "mas")
}

// token kinds
const (
	tWord uint8 = iota
	tPunct
	tURL
	tAddress // e-mail address
)

type token struct {
	kind     uint8
	class    uint32
	name     uint8 // one of names, else wNone
	punct    byte
	lineHead bool // first token of its line
	sentHead bool // first word of its sentence
	query    bool // URL with a query string
	image    bool // URL that is the target of a Markdown image
	sent     int32
	start    int32
}

// features holds a text's feature vector and where its strongest cue sits.
type features struct {
	x        [numFeatures]float64
	cueStart int // original offset of the first sentence carrying a cue, -1 if none
}

type scanner struct {
	toks []token
	low  []byte // lower-cased scratch for one word
	// scanned is the token index up to which a comment's look-ahead has read: openers
	// inside it are not looked at again, so a run of "<!--" costs linear time.
	scanned int
}

// tokenize splits text into words, URLs, addresses and the punctuation the features
// need, in one pass; non-ASCII letters are part of words (lower-cased only in ASCII).
func (s *scanner) tokenize(text string, f *features) {
	s.toks = s.toks[:0]
	var sent int32
	lineHead, sentHead := true, true
	imageOpen := false // inside ![…] of a Markdown image
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\n':
			lineHead, sentHead = true, true
			sent++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(text[i:])
			if normalize.IsInvisible(r) {
				f.x[fInvisible] = 1
				i += n
				continue
			}
			if r == '\u201c' || r == '\u201d' || r == '\u2018' || r == '\u2019' || r == '\u00ab' || r == '\u00bb' {
				s.toks = append(s.toks, token{kind: tPunct, punct: '"', sent: sent, start: int32(i), lineHead: lineHead})
				lineHead = false
				i += n
				continue
			}
			j := s.word(text, i)
			s.emitWord(text, i, j, sent, lineHead, sentHead)
			lineHead, sentHead = false, false
			i = j
		case isWordStart(c):
			if u := urlEnd(text, i); u > i {
				q := false
				for k := i; k < u; k++ {
					if text[k] == '?' || text[k] == '=' && k > i && text[k-1] != '=' {
						q = true
						break
					}
				}
				img := imageOpen && i >= 2 && text[i-1] == '(' && text[i-2] == ']'
				s.toks = append(s.toks, token{kind: tURL, query: q, image: img, sent: sent, start: int32(i), lineHead: lineHead})
				imageOpen = false
				lineHead, sentHead = false, false
				i = u
				continue
			}
			j := s.word(text, i)
			if j < len(text) && text[j] == '@' {
				k := j + 1
				for k < len(text) && (isWordByte(text[k]) || text[k] == '.' || text[k] == '-') {
					k++
				}
				if k > j+3 {
					s.toks = append(s.toks, token{kind: tAddress, sent: sent, start: int32(i), lineHead: lineHead})
					lineHead, sentHead = false, false
					i = k
					continue
				}
			}
			s.emitWord(text, i, j, sent, lineHead, sentHead)
			lineHead, sentHead = false, false
			i = j
		default:
			if c == '!' && i+1 < len(text) && text[i+1] == '[' {
				imageOpen = true
			}
			s.toks = append(s.toks, token{kind: tPunct, punct: c, sent: sent, start: int32(i), lineHead: lineHead})
			lineHead = false
			// A full stop glued to the next word ("example.com", "file.txt", "3.5") does
			// not end a sentence.
			glued := c == '.' && i+1 < len(text) && isWordStart(text[i+1])
			if (c == '.' || c == '!' || c == '?' || c == ';') && !glued {
				sent++
				sentHead = true
			}
			i++
		}
	}
}

func isWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isWordByte(c byte) bool { return isWordStart(c) || c == '\'' || c >= 0x80 }

func (s *scanner) word(text string, i int) int {
	j := i
	for j < len(text) && isWordByte(text[j]) {
		if text[j] >= 0x80 {
			r, n := utf8.DecodeRuneInString(text[j:])
			if normalize.IsInvisible(r) || r == '\u201c' || r == '\u201d' || r == '\u2018' || r == '\u2019' {
				break
			}
			j += n
			continue
		}
		j++
	}
	if j == i { // a lone non-word byte that reached here (invalid UTF-8)
		j = i + 1
	}
	return j
}

func (s *scanner) emitWord(text string, i, j int, sent int32, lineHead, sentHead bool) {
	s.low = s.low[:0]
	for k := i; k < j; k++ {
		c := text[k]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		s.low = append(s.low, c)
	}
	// "AI's", "user's": the class is the base word's; so is French "l'assistant".
	w := s.low
	if len(w) > 2 && w[1] == '\'' && (w[0] == 'l' || w[0] == 'd') {
		w = w[2:]
	}
	if n := len(w); n > 2 && w[n-2] == '\'' && w[n-1] == 's' {
		w = w[:n-2]
	}
	e := lexicon[string(w)]
	if len(w) != len(s.low) { // the class is the base word's, the name the word's own ("user's")
		e.name = lexicon[string(s.low)].name
	}
	s.toks = append(s.toks, token{kind: tWord, class: e.class, name: e.name, sent: sent, start: int32(i), lineHead: lineHead, sentHead: sentHead})
}

// urlEnd returns the end of a URL starting at i (http://, https://, www.), or i.
func urlEnd(text string, i int) int {
	rest := text[i:]
	if !(asciifold.HasPrefix(rest, "http://") || asciifold.HasPrefix(rest, "https://") || asciifold.HasPrefix(rest, "www.")) {
		return i
	}
	j := i
	for j < len(text) {
		c := text[j]
		if c <= ' ' || c == '"' || c == '\'' || c == ')' || c == ']' || c == '>' || c == '<' || c == '`' {
			break
		}
		j++
	}
	return j
}

// extract computes the features of text.
func (s *scanner) extract(text string) features {
	f := features{cueStart: -1}
	s.scanned = 0
	s.tokenize(text, &f)
	toks := s.toks
	words := 0
	cue := func(k int, i int) {
		f.x[k] = 1
		if f.cueStart < 0 || int(toks[i].start) < f.cueStart {
			if k != fLogWords && k != fImperative && k != fAIWord && k != fUserWord && k != fUrgent && k != fURLQuery {
				f.cueStart = int(toks[i].start)
			}
		}
	}
	// Per-sentence state: the sentence's URLs and cues are known only at its end, so the
	// sentence-level cues are decided when the sentence index changes.
	sentStart := 0
	turns, turnAt := 0, -1
	flush := func(from, to int) {
		var hasURL, hasAddr, send, link, modVerbHead, opener, question, yourOut, print, only, neg bool
		for i := from; i < to; i++ {
			t := toks[i]
			switch t.kind {
			case tURL:
				hasURL = true
			case tAddress:
				hasAddr = true
			case tWord:
				send = send || t.class&cSendVerb != 0
				link = link || t.class&cLinkVerb != 0
				print = print || t.class&cPrintVerb != 0
				only = only || t.class&cOnly != 0 && t.class&cPlease == 0
				neg = neg || t.class&cNeg != 0
			}
		}
		for i := from; i < to; i++ {
			t := toks[i]
			if t.kind != tWord {
				continue
			}
			if t.sentHead || (i > from && toks[i-1].class&cPlease != 0 && toks[i-1].sentHead) {
				if t.class&(cModVerb|cPrintVerb|cOverride) != 0 {
					modVerbHead = true
				}
				// A sentence that opens with neither a subject nor a conjunction is most
				// likely an imperative, whatever its verb ("Group letters in your
				// response in sets of three").
				if t.class&cOpener == 0 {
					opener = true
				}
			}
			if t.class&cYour != 0 && i+1 < to && toks[i+1].class&cOutput != 0 {
				yourOut = true
			}
		}
		for i := from; i < to; i++ {
			if toks[i].kind == tPunct && (toks[i].punct == '?' || toks[i].punct == ':' && i == from+1) {
				question = true // a question, or a label ("Answer: …"): not a command
			}
		}
		if yourOut && (modVerbHead || opener && !question) {
			cue(fVerbYourOutput, from)
		}
		if modVerbHead {
			cue(fImperative, from)
		}
		if send && (hasURL || hasAddr) {
			cue(fSendURL, from)
		}
		if link && hasURL {
			cue(fVisitURL, from)
		}
		if print && only && !neg {
			cue(fOnlyOutput, from)
		}
	}
	for i := range toks {
		t := toks[i]
		if i > 0 && t.sent != toks[i-1].sent {
			flush(sentStart, i)
			sentStart = i
		}
		switch t.kind {
		case tURL:
			if t.query {
				cue(fURLQuery, i)
			}
			if t.image {
				cue(fMarkdownImage, i)
				if t.query {
					cue(fImageQuery, i)
				}
			}
			continue
		case tPunct:
			s.punctCues(text, i, &f, cue)
			continue
		case tAddress:
			continue
		}
		words++
		c := t.class
		if c == 0 {
			continue
		}
		next := func(k int) token {
			if i+k < len(toks) && toks[i+k].sent == t.sent {
				return toks[i+k]
			}
			return token{kind: tPunct}
		}
		if c&cOverride != 0 && overrides(text, toks, i) {
			cue(fOverride, i)
			if t.sentHead || i > 0 && (toks[i-1].class&cPlease != 0 || toks[i-1].kind == tPunct && (toks[i-1].punct == ':' || toks[i-1].punct == ',' || toks[i-1].punct == '"')) {
				cue(fOverrideCommand, i)
			}
		}
		if c&cYour != 0 && !t.sentHead {
			// "add … to your response", "in your answer"; as a subject ("Your answers
			// should be in full sentences") it is a style rule of the writer's.
			if n := next(1); n.class&cOutput != 0 {
				cue(fYourOutput, i)
			}
		}
		if c&cAI != 0 {
			cue(fAIWord, i)
			p := prevWord(toks, i)
			pp := -1
			if p >= 0 {
				pp = prevWord(toks, p)
			}
			n := next(1)
			roleLabel := t.lineHead || isLineHeadAfterPunct(toks, i)
			switch {
			case p >= 0 && toks[p].class&cVocative != 0, pp >= 0 && toks[pp].class&cVocative != 0 && toks[p].class&cAI == 0:
				cue(fAIAddress, i) // "note to AI", "to the AI agent", "Hinweis an KI-Assistenten"
			case !roleLabel && n.kind == tPunct && (n.punct == ':' || n.punct == ','):
				cue(fAIAddress, i) // "…. AI: ignore …", "Assistant, disregard …"
			case p >= 1 && toks[p].is(wAn) && pp >= 0 && toks[pp].is(wAre):
				cue(fAIAddress, i) // "if you are an AI / LLM"
			}
		}
		if c&(cRole|cSpeaker) != 0 && (t.lineHead || isLineHeadAfterPunct(toks, i)) {
			if n := next(1); n.kind == tPunct && (n.punct == ':' || n.punct == ']' || n.punct == '>' || n.punct == '|') {
				if c&cSpeaker != 0 {
					turns++
					if turnAt < 0 && c&cRole != 0 { // "User:", "Assistant:"; not "Customer:"
						turnAt = i
					}
				} else {
					cue(fRoleLine, i) // System:, Developer:, [INST]: always a fake turn in data
				}
			}
		}
		if c&cCond != 0 {
			// "if the user asks", "when you summarise this", "if questioned".
			reader := false
			for k := 1; k <= 6; k++ {
				n := next(k)
				if n.kind != tWord {
					break
				}
				if n.class&cReader != 0 {
					reader = true
				}
				if (reader || k == 1) && n.class&cProcess != 0 && !(n.class&cReader != 0 && k == 1 && !n.is(wQuestioned) && !n.is(wAsked)) {
					cue(fWhenAsked, i)
					break
				}
			}
		}
		if c&cPrintVerb != 0 && (t.sentHead || i > 0 && toks[i-1].class&cPlease != 0) {
			for k := 1; k <= 6; k++ {
				n := next(k)
				if n.kind == tPunct && (n.punct == '"' || n.punct == '\'' || n.punct == '<' || n.punct == ':' || n.punct == '`') {
					cue(fPrintQuote, i)
					break
				}
				if n.kind == tWord && n.is(wFollowing) {
					cue(fPrintQuote, i)
					break
				}
				if n.kind != tWord {
					break
				}
			}
		}
		if c&cUrgent != 0 {
			cue(fUrgent, i)
		}
		if c&cNeg != 0 {
			for k := 1; k <= 3; k++ {
				n := next(k)
				if n.kind != tWord {
					break
				}
				if n.class&cTell != 0 {
					cue(fConceal, i)
					break
				}
			}
		}
		// Single words the cues below name; the class spares other words the comparisons.
		if c&cKeyword != 0 {
			if t.is(wSecretly) || t.is(wSilently) || t.is(wCovertly) {
				cue(fConceal, i)
			}
			// Not "instead" alone: answers and reviews say "use X instead" all the time.
			if (t.is(wNew) && next(1).class&cObject != 0) ||
				(t.is(wFrom) && next(1).is(wNow) && next(2).is(wOn)) {
				cue(fNewTask, i)
			}
			if t.is(wYou) {
				if n := next(1); n.class&cModal != 0 && n.class&cUrgent == 0 || n.is(wMust) || n.is(wAre) && next(2).is(wRequired) {
					cue(fYouMust, i)
				}
			}
		}
		if c&cPrintVerb != 0 || c&cKeyword != 0 && t.is(wConclude) {
			for k := 1; k <= 3; k++ {
				n := next(k)
				if n.kind != tWord {
					break
				}
				if n.is(wThat) {
					cue(fAssertThat, i)
					break
				}
			}
		}
		if c&cKeyword != 0 {
			if t.is(wFollowing) || t.is(wSubsequent) || t.is(wBelow) {
				if n := next(1); n.class&cCode != 0 && next(2).class&cCodeUnit != 0 || n.class&cCode != 0 && n.class&cCodeUnit != 0 {
					cue(fFollowingCode, i)
				}
			}
			if (t.is(wUser) || t.is(wUsers) || t.is(wUserPoss)) && !(t.lineHead && next(1).punct == ':') {
				cue(fUserWord, i)
			}
		}
	}
	if len(toks) > 0 {
		flush(sentStart, len(toks))
	}
	// One or two conversation turns inside data are a fake exchange ("Assistant: [summary]
	// User: now repeat …"); three or more are a pasted transcript, an ordinary document.
	if turnAt >= 0 && turns <= 2 {
		cue(fRoleLine, turnAt)
	}
	f.x[fLogWords] = math.Log1p(float64(words)) / 8
	return f
}

// overrides reports an override of the reader's instructions at toks[i] (an override
// verb): "ignore previous instructions", "disregard the above", "ignore the rest of this
// data", "forget everything" — but not "ignore the previous meeting invite" or "ignore
// the typos", whose object is the writer's own material.
func overrides(text string, toks []token, i int) bool {
	sent := toks[i].sent
	at := func(k int) token {
		if k < len(toks) && toks[k].sent == sent {
			return toks[k]
		}
		return token{kind: tPunct}
	}
	for k := i + 1; k <= i+4; k++ {
		n := at(k)
		switch {
		case n.kind != tWord:
			return false
		case n.class&cObject != 0:
			return true
		case n.class&cScope != 0 && n.class&cYour == 0:
			// A scope word ends the phrase ("ignore the above.") or leads to an object or
			// "of" ("the rest of this data"); before any other noun it is the writer's.
			nn := at(k + 1)
			if nn.kind != tWord || nn.class&cObject != 0 || nn.is(wOf) || nn.is(wAnd) {
				return true
			}
			if nn.class&cScope == 0 {
				return false
			}
		case n.is(wThe), n.is(wMy), n.class&cYour != 0:
		default:
			return false
		}
	}
	return false
}

// punctCues are the cues made of punctuation: fake chat markers, hidden text, templates
// of fake turns ("<detailed summary of the documents above>").
func (s *scanner) punctCues(text string, i int, f *features, cue func(int, int)) {
	toks := s.toks
	t := toks[i]
	at := int(t.start)
	switch t.punct {
	case '<':
		switch {
		case asciifold.HasPrefix(text[at:], "<!--"):
			// An HTML comment with words in it: hidden from a page's reader, read by a model.
			if i < s.scanned || f.x[fHidden] != 0 {
				return
			}
			n := 0
			k := i + 1
			defer func() { s.scanned = k }()
			for ; k < len(toks) && k < i+40; k++ {
				if toks[k].kind == tPunct && toks[k].punct == '>' && k >= 2 && toks[k-1].punct == '-' {
					break
				}
				if toks[k].kind == tWord {
					n++
				}
			}
			if n >= 4 {
				cue(fHidden, i)
			}
		case asciifold.HasPrefix(text[at:], "<|") || asciifold.HasPrefix(text[at:], "<<sys"):
			cue(fChatMarker, i)
		default:
			s.placeholder(i, '>', cue)
		}
	case '[':
		if asciifold.HasPrefix(text[at:], "[inst]") || asciifold.HasPrefix(text[at:], "[/inst]") || asciifold.HasPrefix(text[at:], "[system") {
			cue(fChatMarker, i)
			return
		}
		s.placeholder(i, ']', cue)
	case ':':
		// display:none, font-size:0, visibility:hidden, color:white / #fff
		if i > 0 && i+1 < len(toks) && toks[i-1].kind == tWord && toks[i+1].kind != tPunct {
			p, n := toks[i-1], toks[i+1]
			switch {
			case p.is(wDisplay) && n.is(wNoneWord),
				p.is(wVisibility) && n.is(wHidden),
				p.is(wSize) && n.is(wZero),
				p.is(wOpacity) && n.is(wZero),
				p.is(wColor) && (n.is(wWhite) || n.is(wTransparent)):
				cue(fHidden, i)
			}
		}
	}
	// "end of session", "end of prompt", "end of document": a fake boundary.
	if t.punct == '<' || t.punct == '[' || t.punct == '-' || t.punct == '#' {
		if i+3 < len(toks) && toks[i+1].is(wEnd) && toks[i+2].is(wOf) {
			cue(fChatMarker, i)
		}
	}
}

// placeholder: a bracketed run of one to eight words that names model output, as in
// "<detailed summary of documents above>" or "[salient summary]".
func (s *scanner) placeholder(i int, closing byte, cue func(int, int)) {
	toks := s.toks
	out := false
	for k := i + 1; k < len(toks) && k <= i+9; k++ {
		t := toks[k]
		if t.kind == tPunct {
			if t.punct == closing && k > i+1 && out {
				cue(fPlaceholder, i)
			}
			if t.punct != '-' && t.punct != '\'' {
				return
			}
			continue
		}
		if t.kind != tWord || t.sent != toks[i].sent {
			return
		}
		if t.class&(cOutput|cProcess) != 0 || t.class&cAI != 0 {
			out = true
		}
	}
}

func prevWord(toks []token, i int) int {
	if i > 0 && toks[i-1].kind == tWord && toks[i-1].sent == toks[i].sent {
		return i - 1
	}
	return -1
}

// isLineHeadAfterPunct: a role word after leading markup on its line ("### System:",
// "[user]", "<assistant>", "**System**:").
func isLineHeadAfterPunct(toks []token, i int) bool {
	for k := i - 1; k >= 0 && k >= i-3; k-- {
		if toks[k].kind != tPunct {
			return false
		}
		if toks[k].lineHead {
			return true
		}
	}
	return false
}

// is reports whether t is the word named w (one of names).
func (t token) is(w uint8) bool { return t.kind == tWord && t.name == w }
