package injection

import (
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect/normalize"
)

// Keyword classes. Keywords are matched on squeezed text (letters and digits only, after
// folding), so "I-g-n-o-r-e", "1gn0re" and "іgnоrе" all read "ignore"; German umlauts are
// folded (ü → u, ß → s).
var classes = map[string][]string{
	"ignore": {"dimentica", "esqueca", "netienspluscompte", "nohagascaso", "nonseguire",
		"ignore", "disregard", "forget", "overlook", "bypass", "override", "dismiss", "neglect",
		"setaside", "leavebehind", "throwout", "abandon", "dropall", "dropyour", "skipall", "skipyour",
		"ignorier", "vergiss", "vergesse", "vergessen", "vergesst", "missacht", "uberspring", "verwirf", "streichen",
		"lassensiealle", "abweichendzu", "abweichendvon", "olvida", "olvide", "ignora", "oubliez", "oublie", "ignorez", "zaboravi"},
	"previous": {"previous", "prior", "above", "earlier", "preceding", "instruction", "allrules", "yourrules",
		"guideline", "directive", "yourprogramming", "everything", "whatwassaid", "context", "document",
		"article", "assignment", "task", "allyour", "beforehand", "vorherig", "bisherig", "obige",
		"vorangegangen", "vorangehend", "allesdavor", "allesvorher", "allesbisher", "allesgesagt", "allesobige", "allesoben", "anweisung",
		"instruktion", "aufgabe", "auftrag", "befehl", "regeln", "zuvor", "instrucciones", "todo",
		"instructions", "toutes", "sve"},
	"reveal": {"show", "print", "reveal", "output", "repeat", "display", "tellme", "spell", "leak", "dump",
		"zeige", "zeig", "gibaus", "ausgeben", "wiederhol", "verrat", "nenne"},
	"prompt": {"systemprompt", "yourprompt", "prompttext", "initialprompt", "yourinstructions",
		"yourinitial", "originalinstructions", "hiddeninstructions", "secretinstructions", "thisprompt",
		"promptabove", "fullprompt", "deinprompt", "deineanweisungen", "deineninstruktionen",
		"deinenprompt", "ihrprompt", "ihreanweisungen", "systemnachricht", "systemmessage"},
	"leakq": {"writtenabove", "wasabove", "beginningofthisprompt", "startofthisprompt",
		"whatareyourinstructions", "wassindeineanweisungen", "obenstehend", "obengeschrieben"},
	"newtask": {"newtask", "newinstruction", "newassignment", "newchallenge", "furthertask", "nowfocus",
		"nowconcentrate", "neueaufgabe", "neueanweisung", "neueinstruktion", "nunfolgen", "weitereaufgaben",
		"konzentrieredich", "startover", "vonvorne", "vonneu"},
	"jailbreak": {"jailbreak", "jailbroken", "danmode", "doanythingnow", "developermode", "devmode",
		"stayincharacter", "nofilter", "unfiltered", "uncensored", "amoral", "noethical", "nomoral",
		"norestriction", "withoutrestriction", "unrestricted", "nolimitation", "nolimits", "ignoreopenai",
		"contentpolic", "openaipolic", "brokenfree", "freeofall", "freedfrom", "evilconfidant", "antigpt",
		"machiavellian", "notboundby", "nolongerbound", "neverrefuse", "mustnotrefuse", "cannotrefuse",
		"dontrefuse", "willnotrefuse", "anythingnow", "withoutanycensor", "ohnezensur", "keinefilter",
		"keineeinschrankung", "ethicalguideline", "moralguideline", "safetyguideline"},
	"persona": {"youarenow", "nowyouare", "fromnowon", "pretendyouare", "pretendtobe", "actas", "roleplay",
		"imagineyouare", "dubistjetzt", "dubistnun", "jetztbistdu", "nunbistdu", "abjetzt", "stelldirvor",
		"tudirso", "spieldierolle", "youwillnowact", "youaregoingtoact", "simulate", "asanai",
		"asalanguagemodel", "respondas", "answeras", "antworteals", "imstile", "inthestyleof"},
	"marker": {"instsys", "endofprompt", "newsystemprompt", "conversationreset", "systemnote",
		"imstartsystem", "imstartuser", "imstartassistant", "imendimstart", "endoftext", "systemoverride", "adminoverride", "debugmode",
		"sudomode", "godmode"},
	"say": {"say", "sag", "sagen", "print", "write", "schreib", "output", "answerwith", "respondwith",
		"antwortemit", "gibnur"},

	// Classes below carry no rule of their own: they are text-level model features (see
	// ruleFeatures), so their weight is learned in context and shared across languages.
	"override": {"abweichend", "entgegen", "auseracht", "nichtbeachten", "nichtberucksichtig",
		"hintersich", "ausdemkopf", "despitewhat", "regardlessof", "unabhangigvon", "insteadof",
		"instead", "stattdessen", "anstatt", "anstelle", "ratherthan", "changeyourinstructions",
		"yourinstructionsarenow", "removeall", "erasethe", "deleteall", "enlugarde", "aulieude",
		"nichtandie", "nottoremember", "donotanswer", "dontanswer", "nichtbeantworten",
		"beantwortenicht", "donotlook", "nichtnach"},
	"allprior": {"toutesvos", "todastus", "tuttele", "tutteletue", "todasas",
		"allesgesagt", "allesobige", "allesoben", "allesbisherige", "allevorherigen",
		"allebisherigen", "allprevious", "allprior", "allthe", "everythingabove", "everythingbefore",
		"everythingyou", "allyourinstructions", "allinstructions", "alleanweisungen", "alleinstruktionen",
		"alleaufgaben", "alleauftrage", "allassignments", "alltasks", "allorders", "allebefehle",
		"todaslas", "toutesles", "vseinstrukc", "sveinstrukcije"},
	"praise": {"welldone", "verywell", "verygood", "excellent", "greatjob", "goodjob", "gutgemacht",
		"sehrgut", "ausgezeichnet", "hervorragend", "fantastic", "fantastisch", "wow", "congratulat",
		"gluckwunsch", "thatisenough", "thatsenough", "dasgenugt", "dasreicht", "thatisdone",
		"erledigt", "outdoneyourself", "ubertroffen", "simplygreat", "einfachgrosartig", "superge"},
	"nowdo": {"nowwrite", "nowtell", "nowsay", "nowanswer", "nowshow", "nowprint", "nowgenerate",
		"nowplease", "nowcomeon", "butnow", "andnow", "nowyou", "nownew", "nowfurther", "nowfollow",
		"nunfolg", "jetztfolg", "schreibenun", "verfassenun", "schreibnun", "nunschreib",
		"jetztschreib", "schreibjetzt", "aberjetzt", "jetztkomm", "nunbitte", "jetztbitte",
		"furtheraufgabe", "weitereaufgabe", "anothertask", "afewmoretasks", "paaraufgaben"},
	"stop":   {"stop", "stopp", "achtung", "attention", "warte", "alarm", "cancel", "abbrechen", "abbruch"},
	"urgent": {"important", "wichtig", "urgent", "dringend", "immediately", "sofort", "mustdo", "musst"},
	"sayforce": {"statethat", "sayyes", "sayno", "includethat", "justsay", "justoutput", "onlysay",
		"onlyoutput", "repeatafterme", "sprichmirnach", "sagmir", "sagdass", "behaupte", "schreibnur",
		"gibnuraus", "nurausgeben", "dites", "diloquesigue", "decir", "ditesce", "sagensie"},
	"contextref": {"thearticles", "thedocuments", "provideddocuments", "documentsprovided",
		"providedcontext", "contextprovided", "derartikel", "denartikeln", "dokumente", "kontext",
		"context", "documents", "articles", "artikel", "information", "informationen", "angaben"},
	"toxic": {"ihate", "youhate", "hates", "hasse", "hateall", "hassen", "disgusting", "racist",
		"rassismus", "rassistisch", "insult", "crazy", "verruckt", "asshole", "arschloch", "slut", "bitch", "schlampe",
		"stirb", "hatespeech", "swear", "schimpf", "beleidig", "offensive",
		"fuck", "scheis", "beschissen", "idiot", "doof", "stupid", "pwned",
		// "dumm" only in forms that are not the start of "dummy"
		"dumme", "dummer", "dummes", "dummen", "dummkopf", "istdumm", "sinddumm", "sodumm", "bistdumm"},
	"threat": {"ordudie", "oderdustirbst", "youwilldie", "icommand", "ichbefehle",
		"urgently", "dringend", "tumuertes", "muerto"},
	"pretend": {"pretend", "imagine", "stelldirvor", "tudirso", "tuso", "asif", "alsob", "suppose",
		"hypothetical", "theoretical", "theoretisch", "fiktiv", "fictional", "alternate",
		"whatif", "wasware", "makesomethingup", "erfinde"},
	"youare": {"youare", "youre", "dubist", "siesind", "nowyouare", "duspielst", "youplay",
		"yourrole", "deinerrolle", "ihrerrolle", "inyourrole", "absorbed", "aufgeh", "bleib",
		"stay", "schauspieler", "character", "derfigur", "diefigur", "playtherole", "dierolle", "therole"},
	"leakhint": {"wordsabove", "initialization", "initialisation", "yourconfiguration", "yoursetup", "developermessage", "veryfirstmessage", "contextwindow",
		"sentencesbefore", "thetextbefore", "beforemyfirst", "vormeinerersten", "wordsbefore", "linesbefore", "whatwaswritten",
		"whatiswrittenabove", "writtenbefore", "saidbefore", "beginningofyour", "beginningofthisconversation",
		"previoustext", "thetextabove", "wasstehtoben", "wasstandoben", "wasstehtdavor", "wasstanddavor",
		"wasstehtam", "vorherigentext", "obigentext", "yourinstructions", "deineanweisungen",
		"deineinstruktionen", "ihreanweisungen", "yoursystem", "deinsystem", "initialinstruction",
		"yourfirstinstruction", "yourrules", "deineregeln", "yourguidelines", "tellmeyourprompt"},
	"deceive": {"untrue", "unwahr", "fakenews", "falschmeldung", "falschinformation", "misinformation",
		"desinformation", "disinformation", "propaganda", "misleading", "irrefuhrend", "madeup",
		"makesomethingup", "makeitup", "erfundene", "erfinde", "falschesagen",
		"liesabout", "lugenuber", "conspiracy", "verschworung"},
	"hijack": {"pwned", "pwnd", "haha", "trololo"},
	"forcereply": {"saythat", "sayyouhate", "tellmethatyou", "writethatyou", "answeronlywith",
		"replyonlywith", "respondonlywith", "onlyanswerwith", "onlyreplywith", "onlyrespond",
		"onlyreply", "antwortenur", "antwortnur", "antwortemitja", "simplyreply", "justreply",
		"justanswer", "justrespond", "justwrite", "justprint", "nurschreiben", "schreibenur",
		"saysomething", "sagwas", "sagetwas", "sageinfach", "sagnur", "sagenur", "schreibnur",
		"printthefollowing", "writethefollowing", "saythefollowing", "gibfolgendes", "sagefolgendes",
		"followedby", "gefolgtvon", "everytimeyou", "jedesmal", "yourresponsemust", "youranswermust",
		"deineantwortmuss", "startyourresponse", "beginyouranswer", "beginneantwort"},
	"ignoresource": {"notbythearticle", "notbasedon", "notaccordingto", "notfromthe", "notusethe",
		"withoutthearticle", "withoutusing", "ownknowledge", "eigenenwissen", "eigeneswissen",
		"ohnedieartikel", "ohnedendokument", "nichtaufgrund", "nichtausdem", "regardlessof",
		"disregarding", "ignoringthe"},
	"addressai": {"notetoai", "notetotheai", "noteforai", "toanyai", "aiagent", "aiassistant", "aireading", "ifyouarean", "anllm", "anki", "kiassistent", "sprachassistent",
		"asanai", "asalanguagemodel", "asanassistant", "asachatbot", "alseineki",
		"alssprachmodell", "alschatbot", "languagemodel", "sprachmodell", "chatgpt", "gpt", "openai",
		"yourtraining", "youweretrained", "yourcreator", "yourdeveloper"},
	// What an override is aimed at: the model's instructions and rules (an attack), as
	// opposed to the user's own material (see "draft").
	"instrobj": {"consigne", "istruzion", "instruccion", "instrucoes", "regole", "reglas", "regles", "lineeguida", "directrices",
		"instruction", "instrukt", "anweisung", "rules", "regeln", "guideline", "richtlinie",
		"directive", "programming", "prompt", "vorgaben", "befehle", "orders", "constraint",
		"restriction", "einschrankung", "polic", "training", "whatyouweretold", "whatyouhavebeentold",
		"wasmandir", "wasdirgesagt", "yourrole", "deinerolle", "yourtask", "deineaufgabe",
		"everything", "allesdavor",
		"allesobige", "allesoben", "allesgesagt", "allesvorher", "allesbisher"},
	// The user's own material, the usual object of "ignore"/"forget" in editing requests
	// ("forget the previous draft", "ignore the typos", "vergiss meine letzte Nachricht").
	// Only the pair ignore_draft is a feature (see pairOnly).
	"draft": {"draft", "version", "typo", "tippfehler", "spelling", "rechtschreib", "formatting",
		"formatierung", "grammar", "grammatik", "paragraph", "absatz", "wording", "intro",
		"einleitung", "outline", "gliederung", "entwurf", "fassung", "mylast", "mymessage",
		"myearlier", "myprevious", "myquestion", "mynote", "myemail", "meineletzte", "meinerletzten",
		"meinenletzten", "meinevorherige", "meinervorherigen", "meinefrage", "meinenotizen",
		"whatisaid", "whativesaid", "whatiwrote", "whatijustsaid", "everythingisaid", "wasichgesagt",
		"wasichgeschrieben", "wasichuber", "secondhalf", "firsthalf", "zweitehalfte", "erstehalfte",
		"wronglink", "falschenlink", "attachment"},
	// Answers restricted to the supplied material: the RAG template's own rule ("answer only
	// from the context", "if the answer is not in the documents, say you don't know").
	"grounded": {"onlyuse", "useonly", "usingonly", "onlyusing", "basedonlyon", "onlybasedon",
		"basedsolelyon", "solelyon", "strictlyfrom", "strictlyon", "onlyfromthe", "onlythecontext",
		"onlythedocument", "onlytheinformation", "onlytheprovided", "onlythepassage",
		"onlythefollowing", "onlythetext", "onlytheretrieved", "onlytheexcerpt", "onlythesnippet",
		"onlythetable", "onlythetranscript", "onlythesource", "dontknow", "donotknow", "notsure",
		"makeupananswer", "makeanythingup", "makethingsup", "dontguess", "notguess",
		"priorknowledge", "outsideknowledge", "notenoughinformation", "insufficient",
		"notinthecontext", "notinthedocument", "notinthepassage", "notinthetext", "doesnotcontain",
		"doesntcontain", "dontcontain", "donotcontain", "notsupported", "supportedby", "cite",
		"quotetherelevant", "doesnotmention", "doesntmention", "doesntsay", "doesnotsay",
		"doesntcover", "notcover", "nuranhand", "anhanddes", "anhandder", "anhandden",
		"ausschlieslich", "nurmitdem", "nurmitden", "nurmitder", "nurdieinformationen",
		"nuraufbasis", "aufbasisdieser", "aufgrundlage", "vorwissen", "erfindenichts",
		"nichtserfinden", "nichtsdazu", "stehtnicht", "nichtenthalt", "weisnicht", "weistnicht",
		"weisichnicht", "keineinformationen", "nichtfeststellbar", "nennedie", "nichtbeschrieben",
		"nichtgenannt", "nichtausreich", "nichtreicht"},
	// Set phrases whose keywords mean something else: negations ("don't forget", "vergiss
	// nicht", "erfinde nichts"), the RAG template's "just say that you don't know", "ignore
	// case". Keywords of other classes inside such a phrase are dropped before rules and
	// features (see splitHits); the phrase itself is a model feature.
	"idiom": {"dontforget", "donotforget", "neverforget", "nottoforget", "mustnotforget",
		"nichtvergessen", "nichtzuvergessen", "vergissnicht", "vergissesnicht", "vergesstnicht",
		"vergessensienicht", "nievergessen", "vergissmeinnicht", "forgetmenot", "dontignore",
		"donotignore", "nichtignorieren", "ignorierenicht", "ignoriernicht", "ignorecase",
		"erfindenichts", "nichtserfinden", "nichtszuerfinden", "dontmakeup", "donotmakeup",
		"nottomakeup", "donttrytomakeup", "dontmakeanythingup", "donotmakeanythingup",
		"dontmakethingsup", "justsaythatyoudontknow", "justsaythatyoudonotknow",
		"saythatyoudontknow", "saythatyoudonotknow", "sayyoudontknow", "sayidontknow",
		"sayyouarenotsure", "saythatyouarenotsure", "sayyourenotsure", "sagedassduesnichtweist",
		"sagdassduesnichtweist", "sagedassdunichtweist"},
	// A persona introduced as a role with an article ("you are a …", "act as an …", "du bist
	// ein …"): a task framing, unlike a switch to a named identity ("you are Volkswagen",
	// "jetzt bist du Xi Jinping") or to a model without rules.
	"rolearticle": {"youarea", "yourea", "youarenowa", "youarenowmy", "actasa", "actasmy",
		"pretendyouarea", "pretendyourea", "pretendtobea", "imagineyouarea", "roleplayasa",
		"playtheroleofa", "playtheroleofan", "respondasa", "answerasa", "dubistein",
		"dubistjetztein", "dubistjetztmein", "dubistnunein", "alswarstduein", "alsbistduein",
		"alsseistduein", "rolleeines", "rolleeiner", "alseinerfahren", "siesindein"},
	// Requests for harmful content: weighed with the persona and override cues (a role-play
	// request is benign, a role-play that asks for malware or weapons is not).
	"harmful": {"evil", "bose", "destroyhumanity", "vernicht", "malware", "ransomware", "keylogger",
		"phishing", "stealpassword", "passwortestehlen", "napalm", "explosive", "sprengstoff",
		"bomb", "weapon", "waffen", "einewaffe", "pickthelock", "lockpick", "schlossknack",
		"knacke", "breakinto", "einbrech", "hotwire", "murder", "poison", "vergift", "hack",
		"exploit", "launder", "selfharm"},
	// Secrets a model guards (passwords, keys, codes), the object of extraction games.
	"secret": {"password", "passwort", "passphrase", "passcode", "secretword", "secretkey",
		"thesecret", "magicword", "codeword", "apikey", "credential", "motdepasse", "contrasena",
		"geheimwort", "kennwort"},
	// How extraction games smuggle a secret out: spelled, reversed, encoded, hinted. Only
	// next to a secret (pairFeatures), so "spell 'necessary' backwards" does not count.
	"smuggle": {"backwards", "ruckwarts", "firstletter", "eachletter", "everyletter",
		"whichletters", "whatletters", "letterbyletter", "acrostic", "rhymefor", "inbase",
		"encodeit", "howmanyletters", "buchstabier", "syllable", "remindme", "givemeahint",
		"piglatin", "separatedby"},
	// Refusal suppression: the model may not decline, apologise or warn.
	"norefuse": {"neversay", "neverapologi", "nodisclaimer", "withoutdisclaimer", "nowarnings",
		"withoutwarning", "torefuse", "ifyourefuse", "forbiddenforyou", "verweigereniemals",
		"nuncadigas", "sinadvertencias", "nonrifiutare", "mandatorywarning", "breaktherules", "sagnie", "safetycaveat"},
	// Executing assembled or decoded text: payload splitting.
	"execute": {"dowhatitsays", "dowhatthissays", "followit", "executeit", "concatenat",
		"combineboth", "andfollow", "andexecute", "befolge"},
	"actas": {"actas", "fungier", "agier", "verhaltedich", "behaveas", "behavelike", "iwantyouto",
		"ichmochtedass", "ichmochtedass", "transforminto", "become",
		"personify", "interpreter", "terminal"},
}

// ruleWeights turn keyword evidence into a rule score. Pair rules need the second class
// to follow the first within window squeezed bytes (roughly one short sentence).
type pairRule struct {
	name          string
	first, second string
	window        int32
	weight        float64
}

var pairRules = []pairRule{
	{"ignore_previous", "ignore", "previous", 32, 0.75},
	{"reveal_prompt", "reveal", "prompt", 40, 0.75},
	{"ignore_then_say", "ignore", "say", 80, 0.35},
	{"newtask_after_praise", "newtask", "newtask", 120, 0.3},
	// "die obigen Anweisungen ignorieren": German puts the verb last.
	{"previous_then_ignore", "previous", "ignore", 16, 0.4},
	// An override aimed at the model's instructions, rules or prompt.
	{"ignore_instructions", "ignore", "instrobj", 40, 0.8},
}

// pairFeatures are pairs like pairRules (second class within window squeezed bytes after
// the first) that are model features only, with no rule score: they tell the model what
// an override is aimed at.
var pairFeatures = []struct {
	name          string
	first, second string
	window        int32
}{
	{"ignore_draft", "ignore", "draft", 24},                // "forget the previous draft", "ignore the typos"
	{"instructions_then_ignore", "instrobj", "ignore", 16}, // "die Anweisungen ignorieren"
	// A guarded secret spelled, reversed, encoded or hinted at ("spell the password
	// backwards", "which letters does the secret contain"), in either order.
	{"smuggle_secret", "smuggle", "secret", 64},
	{"secret_smuggle", "secret", "smuggle", 64},
}

var singleRules = map[string]struct {
	name   string
	weight float64
}{
	"leakq":     {"prompt_leak_question", 0.6},
	"jailbreak": {"jailbreak_vocabulary", 0.45},
	"marker":    {"chat_template_marker", 0.5},
	"newtask":   {"new_task", 0},
	"persona":   {"persona_switch", 0},
}

// anchorMaxLen: keywords this short must start a word (see keyword.anchored); longer ones
// match anywhere in the squeezed text, which keeps German compounds ("Systemanweisung") and
// spacing obfuscation working.
const anchorMaxLen = 4

// rot13Prefix marks the class of keywords added in ROT13 form: one automaton pass finds
// plain and ROT13-hidden keywords at once, and the two are scored separately.
const rot13Prefix = "rot13:"

var kwMatcher = func() *matcher {
	// ROT13 hits count through the rules only, so only ruled classes get ROT13 forms
	// (which keeps the automaton, and its cache footprint, small).
	ruled := map[string]bool{}
	for _, pr := range pairRules {
		ruled[pr.first], ruled[pr.second] = true, true
	}
	for cl := range singleRules {
		ruled[cl] = true
	}
	// A ROT13-hidden "ignore … instructions" already fires ignore_previous ("instruction" is
	// in previous), so instrobj needs no ROT13 forms of its own; persona's only rule has
	// weight 0, so its ROT13 forms could never raise a score.
	delete(ruled, "instrobj")
	delete(ruled, "persona")
	var kws []keyword
	for cl, words := range classes {
		for _, w := range words {
			a := len(w) <= anchorMaxLen
			kws = append(kws, keyword{w, cl, a})
			if ruled[cl] {
				kws = append(kws, keyword{normalize.Rot13(w), rot13Prefix + cl, a})
			}
		}
	}
	// Map iteration order is random; sort for a deterministic automaton.
	sortKeywords(kws)
	return newMatcher(kws)
}()

func sortKeywords(k []keyword) {
	for i := 1; i < len(k); i++ {
		for j := i; j > 0 && (k[j].class+"/"+k[j].text) < (k[j-1].class+"/"+k[j-1].text); j-- {
			k[j], k[j-1] = k[j-1], k[j]
		}
	}
}

// kwInfo is what the hot paths need to know about one keyword id.
type kwInfo struct {
	class int8  // index into classNames (ROT13 keywords: the class they hide)
	rot   bool  // a ROT13 form
	ruled bool  // its class takes part in a rule (else it is a model feature only)
	n     int32 // length
}

type compiledPairFeat struct {
	first, second int8
	window        int32
	feat          uint32
}

// compiled rules: classes as indices into classNames, rules numbered (pairs first).
type compiledPair struct {
	first, second int8
	window        int32
	weight        float64
	id            int
}

var (
	kwInfos       []kwInfo
	compiledPairs []compiledPair
	// pairOnly marks classes that are no feature of their own, only through pairFeatures.
	pairOnly uint64
	// compiledPairFeats are pairFeatures over class indices, with their feature bucket.
	compiledPairFeats []compiledPairFeat
	pairFeatClasses   uint64 // classes that take part in a pair feature
	idiomClass        int8
	dropperClasses    uint64 // classes whose phrases drop the keywords inside them (idiom, grounded)
	keptInIdiom       uint64 // classes an idiom does not drop (idiom, grounded, draft)
	previousClass     int8
	draftClass        int8
	maxDraftLen       int32
	singleByClass     []int // rule id of the class's single rule, or -1
	ruleNames         []string
	ruleWeights       []float64
)

// initRules compiles the rules; called from the package init once classNames exist.
func initRules() {
	idx := map[string]int8{}
	for i, cl := range classNames {
		idx[cl] = int8(i)
	}
	used := map[string]bool{}
	for _, pr := range pairRules {
		used[pr.first], used[pr.second] = true, true
		compiledPairs = append(compiledPairs, compiledPair{idx[pr.first], idx[pr.second], pr.window, pr.weight, len(ruleNames)})
		ruleNames = append(ruleNames, pr.name)
		ruleWeights = append(ruleWeights, pr.weight)
	}
	singleByClass = make([]int, len(classNames))
	for i, cl := range classNames {
		singleByClass[i] = -1
		if sr, ok := singleRules[cl]; ok {
			used[cl] = true
			singleByClass[i] = len(ruleNames)
			ruleNames = append(ruleNames, sr.name)
			ruleWeights = append(ruleWeights, sr.weight)
		}
	}
	pairOnly = 1<<idx["draft"] | 1<<idx["smuggle"]
	idiomClass = idx["idiom"]
	dropperClasses = 1<<idx["idiom"] | 1<<idx["grounded"]
	previousClass, draftClass = idx["previous"], idx["draft"]
	keptInIdiom = 1<<idx["idiom"] | 1<<idx["grounded"] | 1<<idx["draft"]
	for _, pf := range pairFeatures {
		c := compiledPairFeat{idx[pf.first], idx[pf.second], pf.window, featHash("pair:" + pf.name)}
		compiledPairFeats = append(compiledPairFeats, c)
		pairFeatClasses |= 1<<c.first | 1<<c.second
	}
	for _, w := range classes["draft"] {
		maxDraftLen = max(maxDraftLen, int32(len(w)))
	}
	for _, k := range kwMatcher.kw {
		base := strings.TrimPrefix(k.class, rot13Prefix)
		kwInfos = append(kwInfos, kwInfo{idx[base], base != k.class, used[base], int32(len(k.text))})
	}
}

// ruleResult is the outcome of the keyword rules on one text.
type ruleResult struct {
	score      float64
	names      []string
	start, end int32 // squeezed span of the strongest evidence
}

const maxHits = 4096

// splitHits separates plain from ROT13 keyword hits. Plain hits inside a set phrase (class
// idiom: "don't forget", "vergiss nicht", "say that you don't know"; class grounded: "only
// the context", "doesn't say") are dropped, except those of the classes that mark benign
// use, and so is a "previous" that qualifies the user's own material ("the previous draft",
// "den vorherigen Entwurf", "the earlier version").
func splitHits(hits []hit) (plain, rot []hit) {
	plain = hits[:0:0]
	var present uint64
	for _, h := range hits {
		k := kwInfos[h.id]
		if k.rot {
			rot = append(rot, h)
		} else {
			plain = append(plain, h)
			present |= 1 << k.class
		}
	}
	if present&dropperClasses != 0 || present&(1<<draftClass) != 0 && present&(1<<previousClass) != 0 {
		plain = dropNegated(plain)
	}
	return plain, rot
}

// previousDraftGap is how many squeezed bytes may separate "previous" from the draft word
// it qualifies: inflection ("vorherig|en entwurf", "vorherig|e fassung").
const previousDraftGap = 3

// dropNegated removes hits that lie inside an idiom or grounded phrase hit (unless their
// class is kept), and "previous" hits directly followed by a draft word. Hits are ordered
// by end, and a keyword inside a phrase ends at or before it, so each phrase looks back
// over the hits before it (and at those ending with it); a "previous" hit looks ahead only
// as far as a draft word starting within previousDraftGap can end.
func dropNegated(hits []hit) []hit {
	drop := make([]bool, len(hits))
	for i, h := range hits {
		k := kwInfos[h.id]
		if k.class == previousClass {
			for j := i + 1; j < len(hits) && hits[j].end-h.end <= previousDraftGap+maxDraftLen; j++ {
				if kj := kwInfos[hits[j].id]; kj.class == draftClass {
					if s := hits[j].end - kj.n; s >= h.end && s-h.end <= previousDraftGap {
						drop[i] = true
						break
					}
				}
			}
			continue
		}
		if dropperClasses&(1<<k.class) == 0 {
			continue
		}
		start := h.end - k.n
		for j := i - 1; j >= 0 && hits[j].end > start; j-- {
			if kj := kwInfos[hits[j].id]; keptInIdiom&(1<<kj.class) == 0 && hits[j].end-kj.n >= start {
				drop[j] = true
			}
		}
		for j := i + 1; j < len(hits) && hits[j].end == h.end; j++ {
			if kj := kwInfos[hits[j].id]; keptInIdiom&(1<<kj.class) == 0 && hits[j].end-kj.n >= start {
				drop[j] = true
			}
		}
	}
	out := hits[:0]
	for i, h := range hits {
		if !drop[i] {
			out = append(out, h)
		}
	}
	return out
}

// evalRules combines keyword hits: each pair or single rule contributes once (the
// strongest instance), and contributions combine as a noisy-or. Linear in the number
// of hits, without allocation unless a rule fires.
func evalRules(hits []hit) ruleResult {
	var r ruleResult
	notFired := 1.0
	best := 0.0
	var fired uint64
	fire := func(id int, s, e int32) {
		if fired&(1<<id) != 0 {
			return
		}
		fired |= 1 << id
		r.names = append(r.names, ruleNames[id])
		w := ruleWeights[id]
		notFired *= 1 - w
		if w > best {
			best, r.start, r.end = w, s, e
		}
	}
	// Pair rules: remember the last end of each first-class hit and test second-class
	// hits against it.
	var lastEnd, lastStart [64]int32
	var seen uint64
	for _, h := range hits {
		k := kwInfos[h.id]
		if !k.ruled {
			continue // feature-only class
		}
		start := h.end - k.n
		for i := range compiledPairs {
			pr := &compiledPairs[i]
			if pr.second != k.class || seen&(1<<pr.first) == 0 {
				continue
			}
			if e := lastEnd[pr.first]; start >= e && start-e <= pr.window {
				fire(pr.id, lastStart[pr.first], h.end)
			}
		}
		if id := singleByClass[k.class]; id >= 0 {
			fire(id, start, h.end)
		}
		lastEnd[k.class] = h.end
		lastStart[k.class] = start
		seen |= 1 << k.class
	}
	r.score = 1 - notFired
	return r
}

func joinNames(n []string) string { return strings.Join(n, "+") }
